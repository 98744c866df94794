// certpin::PinnedWebSocket, the pinned QML WebSocket type, in a QML engine
// pinned with install(QQmlEngine *): a rogue wss server Qt trusts gets not
// one byte after the TLS handshake and the type ends in status Error with
// certpin's message; the company's wss server is reached and echoes text and
// binary messages; a new url is judged at its own open; a policy replaced
// while a connection is open closes it when the new policy refuses it. The
// control: Qt's own WebSocket type (import QtWebSockets) in the same engine
// sends the rogue server its upgrade request.
//
//     certpin-qt-qmlwebsocket [-functions] [testFunction[:row]]   (QtTest)
#include "echo_server.hpp"
#include "loopback_world.hpp"

#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlError>

#include "certpin_qt_qml.hpp"
#include "certpin_qt_qml_websocket.hpp"

#include <memory>

namespace {

/// A wss URL for the loopback TLS server (which counts what it receives).
QString wssUrl(const LoopbackServer &server)
{
    return QStringLiteral("wss://127.0.0.1:%1/live").arg(server.port());
}

/// The QML that the tests load: a PinnedWebSocket that says hello once open,
/// answers the echo with three bytes, and records what it saw.
QByteArray pinnedQml(const QString &url)
{
    return QStringLiteral(R"(
        import Certpin 1.0
        PinnedWebSocket {
            property bool wasOpen: false
            property string echo: ""
            property int binaryEchoLength: -1
            url: "%1"
            active: true
            onStatusChanged: function () {
                if (status === PinnedWebSocket.Open) {
                    wasOpen = true;
                    sendTextMessage("hello");
                }
            }
            onTextMessageReceived: function (message) {
                echo = message;
                sendBinaryMessage(new Uint8Array([1, 2, 3]).buffer);
            }
            onBinaryMessageReceived: function (message) { binaryEchoLength = message.byteLength; }
        }
    )")
        .arg(url)
        .toUtf8();
}

/// The object `qml` makes in `engine`; null (and `errors` says why) when it
/// does not load.
std::unique_ptr<QObject> load(QQmlEngine &engine, const QByteArray &qml, QString *errors)
{
    QQmlComponent component(&engine);
    component.setData(qml, QUrl());
    std::unique_ptr<QObject> object(component.create());
    QStringList messages;
    for (const QQmlError &e : component.errors())
        messages << e.toString();
    *errors = messages.join(QStringLiteral("; "));
    return object;
}

/// registerQmlWebSocket() with a policy and handler for one test; the
/// company policy without handler again when it goes.
class Registration {
public:
    Registration(const certpin::Policy &policy, std::function<void(const certpin::Verdict &)> onReject)
    {
        certpin::registerQmlWebSocket(policy, std::move(onReject));
    }
    ~Registration() { certpin::registerQmlWebSocket(companyPolicy()); }
    Registration(const Registration &) = delete;
    Registration &operator=(const Registration &) = delete;
};

int status(const QObject &object)
{
    return object.property("status").toInt();
}

QString errorString(const QObject &object)
{
    return object.property("errorString").toString();
}

} // namespace

class QmlWebSocket : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        (void)world();
        certpin::registerQmlWebSocket(companyPolicy());
    }

    void refusedServerGetsNothing_data();
    void refusedServerGetsNothing();
    void companyServerEchoes();
    void qtWebSocketTypeSendsTheUpgrade();
    void newUrlIsJudgedAtItsOpen();
    void replacedPolicyClosesARefusedConnection();
};

/// Rogue servers whose chains Qt's configuration trusts and the policy does not.
void QmlWebSocket::refusedServerGetsNothing_data()
{
    QTest::addColumn<bool>("appendedPin");
    QTest::addColumn<int>("result");
    QTest::newRow("mis-issued public certificate") << false << static_cast<int>(PIN_ERR_UNTRUSTED);
    QTest::newRow("CVE-2016-2402 appended pinned CA") << true << static_cast<int>(PIN_ERR_PIN_MISMATCH);
}

void QmlWebSocket::refusedServerGetsNothing()
{
    QFETCH(bool, appendedPin);
    QFETCH(int, result);
    const demo::World &w = world();
    const TrustPublicRoot trust;
    auto rogue = appendedPin ? serve(QStringLiteral("rogue"), w.appendedPinChain(), w.misissued.key)
                             : serve(QStringLiteral("rogue"), w.misissued);
    const certpin::Policy pinned = appendedPin
        ? policy(demo::policyJson(
              demo::loopbackRule({w.publicRoot.certificate}, {demo::spkiPin(w.pinnedIntermediate.certificate)})))
        : companyPolicy();
    Rejections rejections;
    const Registration registration(pinned, rejections.socketHandler());
    QQmlEngine engine;
    QVERIFY(certpin::install(&engine, pinned));
    QString errors;
    const std::unique_ptr<QObject> socket = load(engine, pinnedQml(wssUrl(*rogue)), &errors);
    QVERIFY2(socket, qPrintable(errors));
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Error), 10000);
    const QString name = QString::fromLatin1(pin_result_name(result));
    QVERIFY2(errorString(*socket).startsWith(name + QStringLiteral(": ")), qPrintable(errorString(*socket)));
    QVERIFY(!socket->property("wasOpen").toBool());
    // The TLS handshake took place; nothing followed it.
    QVERIFY(rogue->connections() >= 1);
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(static_cast<pin_result>(result)) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
    const auto *typed = qobject_cast<certpin::PinnedWebSocket *>(socket.get());
    QVERIFY(typed);
    const certpin::Verdict verdict = certpin::verdictOf(typed->webSocket());
    QVERIFY(verdict.isValid());
    QCOMPARE(static_cast<int>(verdict.result), result);
}

/// The company server (a CA Qt does not know): certpin vouches for it.
void QmlWebSocket::companyServerEchoes()
{
    const demo::World &w = world();
    EchoServer company(w.companyServer);
    Rejections rejections;
    const Registration registration(companyPolicy(), rejections.socketHandler());
    QQmlEngine engine;
    QVERIFY(certpin::install(&engine, companyPolicy()));
    QString errors;
    const std::unique_ptr<QObject> socket = load(engine, pinnedQml(company.url().toString()), &errors);
    QVERIFY2(socket, qPrintable(errors));
    auto *typed = qobject_cast<certpin::PinnedWebSocket *>(socket.get());
    QVERIFY(typed);
    QByteArray binaryEcho;
    QObject::connect(typed, &certpin::PinnedWebSocket::binaryMessageReceived, typed,
                     [&binaryEcho](const QByteArray &data) { binaryEcho = data; });
    QTRY_VERIFY2_WITH_TIMEOUT(socket->property("binaryEchoLength").toInt() >= 0, qPrintable(errorString(*socket)),
                              10000);
    QCOMPARE(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Open));
    QVERIFY(errorString(*socket).isEmpty());
    QCOMPARE(socket->property("echo").toString(), QStringLiteral("echo: hello"));
    QCOMPARE(socket->property("binaryEchoLength").toInt(), 9);
    QCOMPARE(binaryEcho, QByteArray("echo: \x01\x02\x03"));
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));
    QVERIFY(!certpin::verdictOf(typed->webSocket()).isValid());
    socket->setProperty("active", false);
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Closed), 5000);
}

/// The control, and the gap it proves: Qt's own WebSocket type, in an
/// engine certpin pinned, sends the rogue server the upgrade request (and
/// gets its WebSocket: the server answers 101).
void QmlWebSocket::qtWebSocketTypeSendsTheUpgrade()
{
    const TrustPublicRoot trust;
    auto rogue = serve(QStringLiteral("rogue"), world().misissued);
    QQmlEngine engine;
    QVERIFY(certpin::install(&engine, companyPolicy()));
    QString errors;
    const std::unique_ptr<QObject> socket = load(engine,
                                                 QStringLiteral(R"(
        import QtWebSockets 1.0
        WebSocket { url: "%1"; active: true }
    )")
                                                     .arg(wssUrl(*rogue))
                                                     .toUtf8(),
                                                 &errors);
    if (!socket) {
        if (errors.contains(QLatin1String("QtWebSockets")) && errors.contains(QLatin1String("not installed")))
            QSKIP(qPrintable(QStringLiteral("the QML module QtWebSockets is not installed (Debian: "
                                            "qml6-module-qtwebsockets, qml-module-qtwebsockets for Qt 5): ")
                             + errors));
        QFAIL(qPrintable(errors));
    }
    QTRY_VERIFY_WITH_TIMEOUT(rogue->bytesReceived() > 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(rogue->requestsSeen().contains("GET /live HTTP/1.1"), 5000);
    // Open (1): the rogue server has the application's WebSocket.
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), 1, 5000);
}

/// One PinnedWebSocket, opened to the company server, then given the URL
/// of a rogue one: pinned again before that open.
void QmlWebSocket::newUrlIsJudgedAtItsOpen()
{
    const demo::World &w = world();
    const TrustPublicRoot trust;
    EchoServer company(w.companyServer);
    auto rogue = serve(QStringLiteral("rogue"), w.misissued);
    Rejections rejections;
    const Registration registration(companyPolicy(), rejections.socketHandler());
    QQmlEngine engine;
    QVERIFY(certpin::install(&engine, companyPolicy()));
    QString errors;
    const std::unique_ptr<QObject> socket = load(engine, pinnedQml(company.url().toString()), &errors);
    QVERIFY2(socket, qPrintable(errors));
    QTRY_COMPARE_WITH_TIMEOUT(socket->property("echo").toString(), QStringLiteral("echo: hello"), 10000);
    QVERIFY(rejections.verdicts.isEmpty());
    socket->setProperty("wasOpen", false);
    socket->setProperty("url", QUrl(wssUrl(*rogue)));
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Error), 10000);
    QVERIFY2(errorString(*socket).startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")), qPrintable(errorString(*socket)));
    QVERIFY(!socket->property("wasOpen").toBool());
    QVERIFY(rogue->connections() >= 1);
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
}

/// registerQmlWebSocket() again, as a policy update does: the open
/// connection the new policy refuses is closed (status Error), and the next
/// open to that server sends nothing; under the company policy again the
/// same server is reached.
void QmlWebSocket::replacedPolicyClosesARefusedConnection()
{
    const demo::World &w = world();
    // The company's server, counting what it receives (it answers the
    // upgrade with 101, then only counts).
    auto company = serve(QStringLiteral("company"), w.companyServer);
    Rejections rejections;
    const Registration registration(companyPolicy(), rejections.socketHandler());
    QQmlEngine engine;
    QString errors;
    const std::unique_ptr<QObject> socket = load(engine, pinnedQml(wssUrl(*company)), &errors);
    QVERIFY2(socket, qPrintable(errors));
    QTRY_VERIFY_WITH_TIMEOUT(socket->property("wasOpen").toBool(), 10000);
    QVERIFY(company->bytesReceived() > 0);
    QVERIFY(rejections.verdicts.isEmpty());

    const certpin::Policy publicOnly = policy(demo::policyJson(demo::loopbackRule({w.publicRoot.certificate})));
    certpin::registerQmlWebSocket(publicOnly, rejections.socketHandler());
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Error), 5000);
    QVERIFY2(errorString(*socket).startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")), qPrintable(errorString(*socket)));
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
    QTRY_VERIFY_WITH_TIMEOUT(company->openConnections() == 0, 3000);

    // Reopened under the new policy: refused before the upgrade.
    company->resetCounts();
    socket->setProperty("wasOpen", false);
    socket->setProperty("active", false);
    socket->setProperty("active", true);
    QTRY_VERIFY_WITH_TIMEOUT(rejections.verdicts.size() == 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(status(*socket), static_cast<int>(certpin::PinnedWebSocket::Error), 5000);
    QVERIFY(!socket->property("wasOpen").toBool());
    QVERIFY(company->connections() >= 1);
    VERIFY_NOTHING_RECEIVED(*company);

    // And under the company policy again, reached.
    certpin::registerQmlWebSocket(companyPolicy(), rejections.socketHandler());
    company->resetCounts();
    socket->setProperty("active", false);
    socket->setProperty("active", true);
    QTRY_VERIFY_WITH_TIMEOUT(socket->property("wasOpen").toBool(), 10000);
    QVERIFY(company->bytesReceived() > 0);
    QCOMPARE(rejections.verdicts.size(), 2);
}

QTEST_GUILESS_MAIN(QmlWebSocket)
#include "tst_qmlwebsocket.moc"
