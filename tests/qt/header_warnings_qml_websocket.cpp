// certpin_qt_websockets.hpp, certpin_qt_qml.hpp and certpin_qt_qml_websocket.hpp
// under the strict warning set of header_warnings.cpp (tests/qt/CMakeLists.txt).
#include "../../include/certpin_qt_qml_websocket.hpp"
#include "../../include/certpin_qt_qml.hpp"
#include "../../include/certpin_qt_websockets.hpp"

void certpinQtQmlHeaderWarnings(QQmlEngine *engine, QWebSocket *socket);
void certpinQtQmlHeaderWarnings(QQmlEngine *engine, QWebSocket *socket)
{
    const certpin::Policy policy = certpin::Policy::fromPem(QByteArray());
    (void)certpin::install(engine, policy, [](QNetworkReply *, const certpin::Verdict &) {});
    certpin::install(socket, policy, [](const certpin::Verdict &) {});
    certpin::registerQmlWebSocket(policy, [](const certpin::Verdict &) {});
    certpin::PinnedWebSocket pinned;
    pinned.setUrl(QUrl(QStringLiteral("wss://example.com/")));
    pinned.setActive(true);
    (void)pinned.sendTextMessage(QStringLiteral("hello"));
    (void)pinned.sendBinaryMessage(QByteArray("hello"));
    (void)pinned.status();
}
