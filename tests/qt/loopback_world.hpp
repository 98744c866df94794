// What the Qt tests share: the demo's PKI made once per process, TLS servers
// on 127.0.0.1 serving its credentials, the company policy, a recorder of
// what certpin's onReject handlers were told, and the messages that say what
// went wrong. Header-only; each test binary includes it once.
#ifndef CERTPIN_QT_TEST_LOOPBACK_WORLD_HPP
#define CERTPIN_QT_TEST_LOOPBACK_WORLD_HPP

#include "certpin_qt.hpp"

#include "demo_world.hpp"
#include "fetch.hpp"
#include "loopback_server.hpp"

#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslSocket>
#include <QtTest/QtTest>

#include <functional>
#include <memory>

using demo::LoopbackServer;
using demo::Outcome;
using demo::Pending;

inline const demo::World &world()
{
    static const demo::World w = demo::World::make();
    return w;
}

/// A started server sending `chain` (leaf first), offering HTTP/2 when asked.
inline std::unique_ptr<LoopbackServer> serve(const QString &name, const QList<QSslCertificate> &chain,
                                             const QSslKey &key, bool http2 = false)
{
    auto server = std::make_unique<LoopbackServer>(name, chain, key);
    if (http2)
        server->setAlpn({QByteArrayLiteral("h2")});
    if (!server->start())
        qFatal("cannot listen on 127.0.0.1");
    return server;
}

inline std::unique_ptr<LoopbackServer> serve(const QString &name, const demo::Credential &credential,
                                             bool http2 = false)
{
    return serve(name, {credential.certificate}, credential.key, http2);
}

/// The policy in `json`; a test fails (at the caller's next check) when it is not valid.
inline certpin::Policy policy(const QByteArray &json)
{
    QString error;
    certpin::Policy p = certpin::Policy::fromJson(json, &error);
    QTest::qVerify(p.isValid(), "p.isValid()", qPrintable(error), __FILE__, __LINE__);
    return p;
}

/// The company policy: 127.0.0.1 only under the company CA.
inline certpin::Policy companyPolicy()
{
    QString error;
    const certpin::Policy policy =
        certpin::Policy::fromJson(demo::policyJson(demo::loopbackRule({world().companyRoot.certificate})), &error);
    if (!policy.isValid())
        qFatal("%s", qPrintable(error));
    return policy;
}

/// Trusting the public root in the default configuration, which QML's
/// requests and every new QWebSocket use, as a system store would; restored
/// when it goes.
class TrustPublicRoot {
public:
    TrustPublicRoot() { QSslConfiguration::setDefaultConfiguration(world().configurationTrustingPublicRoot()); }
    ~TrustPublicRoot() { QSslConfiguration::setDefaultConfiguration(m_before); }
    TrustPublicRoot(const TrustPublicRoot &) = delete;
    TrustPublicRoot &operator=(const TrustPublicRoot &) = delete;

private:
    QSslConfiguration m_before = QSslConfiguration::defaultConfiguration();
};

/// A request whose TLS configuration trusts the public root, as the system store would.
inline QNetworkRequest trustingPublicRoot(const QString &url, bool http2 = false)
{
    QNetworkRequest request = demo::makeRequest(url, http2);
    request.setSslConfiguration(world().configurationTrustingPublicRoot());
    return request;
}

/// The rows of a test run over HTTP/1.1 and over HTTP/2: a bool column "http2".
inline void addProtocolRows()
{
    QTest::addColumn<bool>("http2");
    QTest::newRow("http/1.1") << false;
    QTest::newRow("h2") << true;
}

inline QString describe(const Outcome &o)
{
    return QStringLiteral("%1 (error %2: %3), body seen: %4")
        .arg(o.summary())
        .arg(static_cast<int>(o.error))
        .arg(o.errorString, o.bodySeen ? QStringLiteral("yes") : QStringLiteral("no"));
}

/// Refused: finished with an error, and no body.
inline bool refused(const Outcome &o)
{
    return o.finished && o.error != QNetworkReply::NoError && !o.bodySeen && o.body.isEmpty();
}

/// Records what install()'s onReject handlers were told.
struct Rejections {
    QList<certpin::Verdict> verdicts;
    /// The URL of each rejected reply.
    QList<QUrl> urls;
    /// Called after recording a rejected reply.
    std::function<void(QNetworkReply *, const certpin::Verdict &)> then;

    std::function<void(QNetworkReply *, const certpin::Verdict &)> handler()
    {
        return [this](QNetworkReply *reply, const certpin::Verdict &v) {
            verdicts.append(v);
            urls.append(reply->url());
            if (then)
                then(reply, v);
        };
    }
    std::function<void(const certpin::Verdict &)> socketHandler()
    {
        return [this](const certpin::Verdict &v) { verdicts.append(v); };
    }
    /// At least one verdict, each of `result` with a message naming it first.
    bool allOf(pin_result result) const
    {
        for (const certpin::Verdict &v : verdicts) {
            if (v.result != result || !v.message.startsWith(QString::fromLatin1(pin_result_name(result))))
                return false;
        }
        return !verdicts.isEmpty();
    }
    /// At least one verdict, each of `result` with a message.
    bool onlyOf(pin_result result) const
    {
        for (const certpin::Verdict &v : verdicts) {
            if (v.result != result || v.message.isEmpty())
                return false;
        }
        return !verdicts.isEmpty();
    }
    QString describe() const
    {
        QStringList lines;
        for (const certpin::Verdict &v : verdicts)
            lines << v.message;
        return QStringLiteral("%1 rejection(s): %2").arg(verdicts.size()).arg(lines.join(QStringLiteral(" / ")));
    }
};

/// A client socket that writes a request from its own `encrypted` slot,
/// connected after install() as the documentation asks.
struct RequestingSocket {
    QSslSocket socket;
    QByteArray received;
    bool appSlotRan = false;

    explicit RequestingSocket(const QSslConfiguration &configuration) { socket.setSslConfiguration(configuration); }
    /// Connects to 127.0.0.1:`port` and waits (at most 5 s) for the answer or the end of the connection.
    void run(quint16 port)
    {
        QObject::connect(&socket, &QSslSocket::encrypted, &socket, [this] {
            appSlotRan = true;
            socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        });
        QObject::connect(&socket, &QSslSocket::readyRead, &socket, [this] { received += socket.readAll(); });
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
        (void)QTest::qWaitFor(
            [this] { return socket.state() == QAbstractSocket::UnconnectedState || received.contains("hello from"); },
            5000);
    }
};

/// A refused server: every connection to it closes within the bound, and
/// nothing reached it on any (the count is final only once all are closed).
#define VERIFY_NOTHING_RECEIVED(server)                                                                              \
    do {                                                                                                             \
        QTRY_VERIFY2_WITH_TIMEOUT((server).openConnections() == 0, "a connection to the refused server stays open", \
                                  3000);                                                                             \
        QCOMPARE((server).bytesReceived(), qint64(0));                                                               \
    } while (false)

#endif
