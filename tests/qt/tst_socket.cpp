// certpin::install() on a QSslSocket: the pinned server reached, a refusal
// in sslErrors and one in `encrypted` (where the application's own slot,
// running after certpin's, finds the socket aborted and sends nothing), and
// a socket judged at once when installed after its handshake.
//
//     certpin-qt-socket [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

class Socket : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)world(); }

    void pinnedServerReached();
    void refusedInSslErrors();
    void refusedInEncrypted();
    void installedOnAnEncryptedSocket();
};

void Socket::pinnedServerReached()
{
    const demo::World &w = world();
    Rejections rejections;
    auto good = serve(QStringLiteral("pinned"), w.selfSigned);
    RequestingSocket accepted(QSslConfiguration::defaultConfiguration());
    certpin::install(&accepted.socket, certpin::Policy::fromPem(w.selfSigned.pem()), rejections.socketHandler());
    accepted.run(good->port());
    QVERIFY2(accepted.received.startsWith("HTTP/1.1 200"), accepted.received.constData());
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));
}

/// A self-signed certificate that is not pinned.
void Socket::refusedInSslErrors()
{
    const demo::World &w = world();
    Rejections rejections;
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    RequestingSocket strange(QSslConfiguration::defaultConfiguration());
    certpin::install(&strange.socket, certpin::Policy::fromPem(w.selfSigned.pem()), QStringLiteral("127.0.0.1"),
                     rejections.socketHandler());
    strange.run(stranger->port());
    QVERIFY(strange.socket.state() == QAbstractSocket::UnconnectedState);
    VERIFY_NOTHING_RECEIVED(*stranger);
    QVERIFY2(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
}

/// A chain Qt trusts. The application's own slot runs after certpin's, on a
/// socket that is already aborted: nothing is sent.
void Socket::refusedInEncrypted()
{
    const demo::World &w = world();
    Rejections rejections;
    auto misissued = serve(QStringLiteral("mis-issued"), w.misissued);
    RequestingSocket trusting(w.configurationTrustingPublicRoot());
    certpin::install(&trusting.socket, certpin::Policy::fromPem(w.selfSigned.pem()), QStringLiteral("127.0.0.1"),
                     rejections.socketHandler());
    trusting.run(misissued->port());
    demo::spin(50);
    QVERIFY(trusting.socket.state() == QAbstractSocket::UnconnectedState);
    QVERIFY(trusting.received.isEmpty());
    VERIFY_NOTHING_RECEIVED(*misissued);
    QVERIFY2(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
}

void Socket::installedOnAnEncryptedSocket()
{
    const demo::World &w = world();
    Rejections rejections;
    auto late = serve(QStringLiteral("late"), w.misissued);
    QSslSocket socket;
    socket.setSslConfiguration(w.configurationTrustingPublicRoot());
    socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), late->port());
    QTRY_VERIFY_WITH_TIMEOUT(socket.isEncrypted(), 5000);
    certpin::install(&socket, certpin::Policy::fromPem(w.selfSigned.pem()), QStringLiteral("127.0.0.1"),
                     rejections.socketHandler());
    QVERIFY(socket.state() == QAbstractSocket::UnconnectedState);
    QVERIFY2(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
    VERIFY_NOTHING_RECEIVED(*late);
}

QTEST_GUILESS_MAIN(Socket)
#include "tst_socket.moc"
