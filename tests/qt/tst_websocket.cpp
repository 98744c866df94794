// certpin::install() on a QWebSocket: a rogue wss server Qt trusts gets not
// one byte of the upgrade request (which carries a bearer token), while Qt
// alone sends it; the company's wss server is reached and echoes; a socket
// reopened elsewhere is judged for the URL it opens; verdictOf() names the
// refusal.
//
//     certpin-qt-websocket [-functions] [testFunction[:row]]   (QtTest)
#include "echo_server.hpp"
#include "loopback_world.hpp"

#include <QtWebSockets/QWebSocket>

#include "certpin_qt_websockets.hpp"

namespace {

/// The wss URL of a loopback TLS server that counts what it receives.
QUrl wssUrl(const LoopbackServer &server)
{
    return QUrl(QStringLiteral("wss://127.0.0.1:%1/live").arg(server.port()));
}

/// The upgrade request, with a token the server must never see.
QNetworkRequest upgrade(const QUrl &url)
{
    QNetworkRequest request(url);
    request.setRawHeader("Authorization", "Bearer not-for-the-rogue");
    return request;
}

/// What became of one open(): connected (and the echo), or disconnected.
struct Session {
    QWebSocket socket;
    bool connected = false;
    bool disconnected = false;
    QString echo;

    Session()
    {
        QObject::connect(&socket, &QWebSocket::connected, &socket, [this] {
            connected = true;
            socket.sendTextMessage(QStringLiteral("hello"));
        });
        QObject::connect(&socket, &QWebSocket::disconnected, &socket, [this] { disconnected = true; });
        QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket,
                         [this](const QString &text) { echo = text; });
    }
    /// Opens `url` and waits (at most 10 s) for the echo or the end.
    void open(const QUrl &url)
    {
        connected = disconnected = false;
        echo.clear();
        socket.open(upgrade(url));
        (void)QTest::qWaitFor([this] { return disconnected || !echo.isEmpty(); }, 10000);
    }
};

} // namespace

class WebSocket : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)world(); }

    void rogueGetsNothing();
    void qtAloneSendsTheUpgrade();
    void companyServerEchoes();
    void reopenedElsewhereIsJudgedForTheNewUrl();
};

/// A rogue server whose certificate Qt's configuration trusts.
void WebSocket::rogueGetsNothing()
{
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued);
    Rejections rejections;
    Session session;
    session.socket.setSslConfiguration(w.configurationTrustingPublicRoot());
    certpin::install(&session.socket, companyPolicy(), rejections.socketHandler());
    session.open(wssUrl(*rogue));
    QVERIFY(session.disconnected);
    QVERIFY(!session.connected);
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
    const certpin::Verdict verdict = certpin::verdictOf(&session.socket);
    QVERIFY(verdict.isValid());
    QCOMPARE(verdict.result, PIN_ERR_UNTRUSTED);
    QVERIFY2(verdict.message.startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")), qPrintable(verdict.message));
}

/// The control: without certpin the same rogue server gets the upgrade
/// request, token and all.
void WebSocket::qtAloneSendsTheUpgrade()
{
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued);
    Session session;
    session.socket.setSslConfiguration(w.configurationTrustingPublicRoot());
    session.socket.open(upgrade(wssUrl(*rogue)));
    QTRY_VERIFY_WITH_TIMEOUT(rogue->bytesReceived() > 0, 5000);
    session.socket.abort();
    QVERIFY(!certpin::verdictOf(&session.socket).isValid());
}

/// The company server (a CA Qt does not know): certpin vouches in sslErrors.
void WebSocket::companyServerEchoes()
{
    const demo::World &w = world();
    EchoServer company(w.companyServer);
    Rejections rejections;
    Session session;
    certpin::install(&session.socket, companyPolicy(), rejections.socketHandler());
    session.open(company.url());
    QVERIFY2(session.connected, qPrintable(session.socket.errorString()));
    QCOMPARE(session.echo, QStringLiteral("echo: hello"));
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));
    QVERIFY(!certpin::verdictOf(&session.socket).isValid());
}

/// One QWebSocket, opened to the company server, then to a rogue one.
void WebSocket::reopenedElsewhereIsJudgedForTheNewUrl()
{
    const demo::World &w = world();
    EchoServer company(w.companyServer);
    auto rogue = serve(QStringLiteral("rogue"), w.misissued);
    Rejections rejections;
    Session session;
    QSslConfiguration trusting = w.configurationTrustingPublicRoot();
    session.socket.setSslConfiguration(trusting);
    certpin::install(&session.socket, companyPolicy(), rejections.socketHandler());
    session.open(company.url());
    QCOMPARE(session.echo, QStringLiteral("echo: hello"));
    session.socket.close();
    QTRY_VERIFY_WITH_TIMEOUT(session.socket.state() == QAbstractSocket::UnconnectedState, 5000);
    session.open(wssUrl(*rogue));
    QVERIFY(session.disconnected && !session.connected);
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
}

QTEST_GUILESS_MAIN(WebSocket)
#include "tst_websocket.moc"
