// What reaches a server that certpin refused: nothing. Each test runs a
// rogue server (a certificate from a CA that Qt's configuration trusts, for
// a host the policy pins to the company CA) that counts the request bytes it
// receives on every connection, and asserts they are 0; and each has a
// positive control, the company's server answering the same requests.
//
//     certpin-qt-refusals [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

#include <QtNetwork/QTcpServer>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>

#include <memory>

namespace {

/// A request as an application sends it: over HTTP/2 when asked, trusting
/// the rogue's CA as if it were in the system store, with a bearer token.
QNetworkRequest request(const QString &url, bool http2)
{
    QNetworkRequest r = trustingPublicRoot(url, http2);
    r.setRawHeader("Authorization", "Bearer secret-token");
    return r;
}

QNetworkReply *send(QNetworkAccessManager &manager, const QString &url, bool http2, bool post)
{
    if (!post)
        return manager.get(request(url, http2));
    QNetworkRequest r = request(url, http2);
    r.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/x-www-form-urlencoded"));
    return manager.post(r, QByteArrayLiteral("user=alice&password=hunter2"));
}

QByteArray seen(const LoopbackServer &server)
{
    QList<QByteArray> lines = server.requestsSeen();
    return lines.isEmpty() ? QByteArrayLiteral("no request") : lines.join(" | ");
}

/// Qt's warnings of a reply given two errors ("QNetworkReplyImplPrivate::error:
/// Internal problem, this method must only be called once"): a refusal
/// aborts once, and only where Qt does not fail the reply itself.
int doubleErrors = 0;
QtMessageHandler qtTestHandler = nullptr;

void countDoubleErrors(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (message.contains(QLatin1String("must only be called once")))
        ++doubleErrors;
    if (qtTestHandler)
        qtTestHandler(type, context, message);
}

/// Where the follow-up request is made after the first one is refused.
enum class From { FinishedSlot, OnReject, LaterWhileBusy };

} // namespace

Q_DECLARE_METATYPE(From)

class Refusals : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        (void)world();
        qtTestHandler = qInstallMessageHandler(countDoubleErrors);
    }
    void init() { doubleErrors = 0; }
    void cleanup() { QCOMPARE(doubleErrors, 0); }

    void impostorInSslErrors_data();
    void impostorInSslErrors();

    void followUpRequest_data();
    void followUpRequest();
    void siblings_data();
    void siblings();
    void synchronousRequest_data();
    void synchronousRequest();
    void socketJudgedByTheNameItVerifies();
    void ipv4MappedAddress();
    void resourcePolicyReadsItsOwnAnchors();
    void underLoad_data();
    void underLoad();
    void heldHandshake_data();
    void heldHandshake();
    void refusalNamesItsResult_data();
    void refusalNamesItsResult();
    void applicationDisconnectsTheReply_data();
    void applicationDisconnectsTheReply();
};

void Refusals::impostorInSslErrors_data()
{
    addProtocolRows();
}

/// A self-signed impostor of the pinned self-signed server: Qt reports it in
/// `sslErrors`, where certpin refuses it; the handshake never completes, and
/// a request made right after is refused too.
void Refusals::impostorInSslErrors()
{
    QFETCH(bool, http2);
    const demo::World &w = world();
    const certpin::Policy pinned = certpin::Policy::fromPem(w.selfSigned.pem());
    QVERIFY(pinned.isValid());
    for (const bool impostor : {true, false}) {
        auto server = serve(QStringLiteral("self-signed"), impostor ? w.strangerSelfSigned : w.selfSigned, http2);
        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, pinned, rejections.handler());
        Pending first(manager.get(demo::makeRequest(server->url(QStringLiteral("/first")), http2)));
        QVERIFY2(demo::waitAll({&first}, 5000), "the first request never finished");
        Pending second(manager.get(demo::makeRequest(server->url(QStringLiteral("/second")), http2)));
        QVERIFY2(demo::waitAll({&second}, 5000), "the second request never finished");
        if (impostor) {
            QVERIFY2(refused(first.outcome()) && refused(second.outcome()),
                     qPrintable(describe(first.outcome()) + QStringLiteral(" / ") + describe(second.outcome())));
            QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED), qPrintable(QString::number(rejections.verdicts.size())));
            QTRY_COMPARE_WITH_TIMEOUT(server->openConnections(), 0, 5000);
            QVERIFY2(server->requestBytes() == 0, seen(*server).constData());
            QCOMPARE(server->bytesReceived(), qint64(0));
        } else {
            QVERIFY2(first.outcome().succeeded() && second.outcome().succeeded(),
                     qPrintable(describe(first.outcome()) + QStringLiteral(" / ") + describe(second.outcome())));
            QVERIFY(rejections.verdicts.isEmpty());
        }
    }
}

void Refusals::followUpRequest_data()
{
    QTest::addColumn<bool>("http2");
    QTest::addColumn<From>("from");
    QTest::addColumn<bool>("post");
    for (const bool http2 : {false, true}) {
        const char *protocol = http2 ? "h2" : "http/1.1";
        for (const bool post : {false, true}) {
            const char *method = post ? "POST" : "GET";
            QTest::addRow("%s, %s from finished", protocol, method) << http2 << From::FinishedSlot << post;
            QTest::addRow("%s, %s from onReject", protocol, method) << http2 << From::OnReject << post;
            QTest::addRow("%s, %s while the manager is busy", protocol, method)
                << http2 << From::LaterWhileBusy << post;
        }
    }
}

/// A request to an origin whose connection certpin just rejected, made from
/// the rejected reply's `finished` slot, from onReject, or later while
/// another reply keeps the manager busy (so the connection cache cannot be
/// cleared yet): Qt would send it on the rejected connection.
void Refusals::followUpRequest()
{
    QFETCH(bool, http2);
    QFETCH(From, from);
    QFETCH(bool, post);
    const demo::World &w = world();

    for (const bool rogue : {true, false}) {
        auto server = serve(rogue ? QStringLiteral("rogue") : QStringLiteral("company"),
                            rogue ? w.misissued : w.companyServer, http2);
        // Keeps the manager busy in the third case: a request held by a
        // server of its own.
        auto slow = serve(QStringLiteral("slow"), w.companyServer, false);
        slow->setMode(LoopbackServer::Mode::Hold);

        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, companyPolicy(), rejections.handler());
        std::unique_ptr<Pending> busy;
        if (from == From::LaterWhileBusy) {
            busy.reset(new Pending(manager.get(demo::makeRequest(slow->url()))));
            QTRY_COMPARE_WITH_TIMEOUT(slow->requests(), 1, 5000);
        }

        std::unique_ptr<Pending> second;
        const auto followUp = [&] {
            if (!second)
                second.reset(new Pending(send(manager, server->url(QStringLiteral("/second")), http2, post)));
        };
        if (from == From::OnReject)
            rejections.then = [&](QNetworkReply *, const certpin::Verdict &) { followUp(); };
        QNetworkReply *firstReply = send(manager, server->url(QStringLiteral("/first")), http2, false);
        // An accepted reply has no onReject: its control follows up from `finished`.
        if (from == From::FinishedSlot || (from == From::OnReject && !rogue))
            QObject::connect(firstReply, &QNetworkReply::finished, &manager, followUp);
        Pending first(firstReply);
        QVERIFY2(demo::waitAll({&first}, 5000), "the first request never finished");
        if (from == From::LaterWhileBusy)
            followUp();
        QVERIFY2(second, "no follow-up request was made");
        QVERIFY2(demo::waitAll({second.get()}, 5000), "the follow-up request never finished (a hang)");

        if (rogue) {
            QVERIFY2(refused(first.outcome()), qPrintable(describe(first.outcome())));
            QVERIFY2(refused(second->outcome()), qPrintable(describe(second->outcome())));
            QVERIFY2(second->outcome().errorString.startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")),
                     qPrintable(second->outcome().errorString));
            QVERIFY2(rejections.verdicts.size() == 2 && rejections.allOf(PIN_ERR_UNTRUSTED),
                     qPrintable(QString::number(rejections.verdicts.size())));
            QVERIFY2(server->requestBytes() == 0, seen(*server).constData());
        } else {
            QVERIFY2(first.outcome().succeeded() && first.outcome().body == server->body(),
                     qPrintable(describe(first.outcome())));
            QVERIFY2(second->outcome().succeeded() && second->outcome().body == server->body(),
                     qPrintable(describe(second->outcome())));
            QVERIFY2(first.outcome().http2 == http2 && second->outcome().http2 == http2,
                     "the protocol under test was not the one used");
            QVERIFY(rejections.verdicts.isEmpty());
            QCOMPARE(server->requests(), 2);
        }
        if (busy) {
            slow->release();
            QVERIFY2(demo::waitAll({busy.get()}, 5000), "the request keeping the manager busy never finished");
            QVERIFY2(busy->outcome().succeeded(), qPrintable(describe(busy->outcome())));
        }
        if (rogue) {
            // Once the manager is idle the rejected connection is closed, and
            // nothing was ever sent on it.
            QTRY_COMPARE_WITH_TIMEOUT(server->openConnections(), 0, 5000);
            QVERIFY2(server->requestBytes() == 0, seen(*server).constData());
            QCOMPARE(server->bytesReceived(), qint64(0));
        }
    }
}

void Refusals::siblings_data()
{
    addProtocolRows();
}

/// Several requests to the rogue at once: over HTTP/1.1 they open several
/// connections or wait in Qt's queue for one; over HTTP/2 they share one.
/// Every one is refused, none hangs, and none is sent.
void Refusals::siblings()
{
    QFETCH(bool, http2);
    const demo::World &w = world();
    for (const bool rogue : {true, false}) {
        auto server = serve(QStringLiteral("server"), rogue ? w.misissued : w.companyServer, http2);
        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, companyPolicy(), rejections.handler());
        std::vector<std::unique_ptr<Pending>> replies;
        for (int i = 0; i < 8; ++i)
            replies.emplace_back(new Pending(send(manager, server->url(QStringLiteral("/%1").arg(i)), http2, i % 2)));
        QList<Pending *> all;
        for (const auto &p : replies)
            all.append(p.get());
        QVERIFY2(demo::waitAll(all, 10000), "a sibling request never finished (a hang)");
        for (const Pending *p : all) {
            if (rogue)
                QVERIFY2(refused(p->outcome()), qPrintable(describe(p->outcome())));
            else
                QVERIFY2(p->outcome().succeeded() && p->outcome().body == server->body(),
                         qPrintable(describe(p->outcome())));
        }
        if (rogue) {
            QVERIFY(rejections.allOf(PIN_ERR_UNTRUSTED));
            QCOMPARE(rejections.verdicts.size(), 8);
            QTRY_COMPARE_WITH_TIMEOUT(server->openConnections(), 0, 5000);
            QVERIFY2(server->requestBytes() == 0, seen(*server).constData());
            QCOMPARE(server->bytesReceived(), qint64(0));
        } else {
            QVERIFY(rejections.verdicts.isEmpty());
            QCOMPARE(server->requests(), 8);
        }
    }
}

void Refusals::synchronousRequest_data()
{
    QTest::addColumn<bool>("http2");
    QTest::addColumn<bool>("worker");
    QTest::newRow("http/1.1, main thread") << false << false;
    QTest::newRow("h2, main thread") << true << false;
    QTest::newRow("http/1.1, worker thread") << false << true;
    QTest::newRow("h2, worker thread") << true << true;
}

namespace {
/// A synchronous GET on a pinned manager of the calling thread.
struct SynchronousGet {
    LoopbackServer *target = nullptr;
    bool http2 = false;
    Outcome outcome;
    /// What the target received during the synchronous call.
    int connections = -1;
    qint64 requestBytes = -1;
    QList<certpin::Verdict> verdicts;
    /// The same manager's asynchronous request to `control`, which must work.
    QString control;
    Outcome controlOutcome;

    void run()
    {
        QNetworkAccessManager manager;
        certpin::install(&manager, companyPolicy(),
                         [this](QNetworkReply *, const certpin::Verdict &v) { verdicts.append(v); });
        const int connectionsBefore = target->connections();
        const qint64 bytesBefore = target->requestBytes();
        QNetworkRequest r = request(target->url(), http2);
        r.setAttribute(QNetworkRequest::SynchronousRequestAttribute, true);
        std::unique_ptr<QNetworkReply> reply(manager.get(r));
        outcome.finished = reply->isFinished();
        outcome.error = reply->error();
        outcome.errorString = reply->errorString();
        outcome.body = reply->readAll();
        outcome.bodySeen = !outcome.body.isEmpty();
        reply.reset();
        connections = target->connections() - connectionsBefore;
        requestBytes = target->requestBytes() - bytesBefore;
        controlOutcome = demo::fetch(manager, demo::makeRequest(control, http2), 5000);
    }
};

class Worker : public QThread {
public:
    explicit Worker(SynchronousGet *get) : m_get(get) {}
    void run() override { m_get->run(); }

private:
    SynchronousGet *m_get;
};
} // namespace

/// Synchronous requests emit no `encrypted` and finish before any queued
/// check could run: a pinned manager refuses them, sending nothing.
void Refusals::synchronousRequest()
{
    QFETCH(bool, http2);
    QFETCH(bool, worker);
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, http2);
    auto company = serve(QStringLiteral("company"), w.companyServer, http2);
    for (LoopbackServer *target : {rogue.get(), company.get()}) {
        SynchronousGet get;
        get.target = target;
        get.http2 = http2;
        get.control = company->url(QStringLiteral("/control"));
        if (worker) {
            Worker thread(&get);
            thread.start();
            QVERIFY2(thread.wait(20000), "the worker thread never finished");
        } else {
            get.run();
        }
        QVERIFY2(refused(get.outcome), qPrintable(describe(get.outcome)));
        QVERIFY2(get.outcome.errorString.contains(QLatin1String("synchronous")), qPrintable(get.outcome.errorString));
        QVERIFY2(get.verdicts.size() == 1 && get.verdicts.first().result == PIN_ERR_REJECTED_OTHER,
                 qPrintable(QString::number(get.verdicts.size())));
        QCOMPARE(get.connections, 0);
        QCOMPARE(get.requestBytes, qint64(0));
        // The positive control: the same manager, asynchronously, reaches the company.
        QVERIFY2(get.controlOutcome.succeeded() && get.controlOutcome.body == company->body(),
                 qPrintable(describe(get.controlOutcome)));
    }
    QCOMPARE(rogue->bytesReceived(), qint64(0));
}

namespace {
/// A QSslSocket client that sends a line once encrypted.
struct SocketClient {
    QSslSocket socket;
    QList<certpin::Verdict> verdicts;

    explicit SocketClient(const certpin::Policy &policy)
    {
        socket.setSslConfiguration(world().configurationTrustingPublicRoot());
        certpin::install(&socket, policy, [this](const certpin::Verdict &v) { verdicts.append(v); });
        // The application's own slot, after certpin's: it sends only on a
        // connection certpin let through.
        QObject::connect(&socket, &QSslSocket::encrypted, &socket, [this] {
            if (socket.state() == QAbstractSocket::ConnectedState)
                socket.write("GET / HTTP/1.1\r\nAuthorization: Bearer secret-token\r\n\r\n");
        });
    }
    /// Connects to 127.0.0.1:`port` by `host`; true when the connection was refused.
    bool refusedAt(const QString &host, quint16 port, const QString &verifyName = QString())
    {
        socket.abort();
        verdicts.clear();
        socket.setPeerVerifyName(verifyName);
        socket.connectToHostEncrypted(host, port);
        QElapsedTimer clock;
        clock.start();
        while (socket.state() != QAbstractSocket::UnconnectedState && verdicts.isEmpty() && !socket.isEncrypted()
               && clock.elapsed() < 5000)
            demo::spin(10);
        demo::spin(50);
        // isEncrypted() may stay true once an encrypted socket is aborted.
        return socket.state() == QAbstractSocket::UnconnectedState && !verdicts.isEmpty();
    }
};
} // namespace

/// A socket is judged for the name it verifies at each handshake, not for a
/// host given once: connected to the pinned host after an unlisted one, or
/// told to verify the pinned name while connecting by another, it falls
/// under the pinned host's rule.
void Refusals::socketJudgedByTheNameItVerifies()
{
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, false);
    auto company = serve(QStringLiteral("company"), w.companyServer, false);
    // 127.0.0.1 pinned to the company CA; every other host left to Qt.
    QString error;
    const certpin::Policy policy = certpin::Policy::fromJson(
        demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}), QStringLiteral("allow")), &error);
    QVERIFY2(policy.isValid(), qPrintable(error));

    SocketClient client(policy);
    QVERIFY(client.refusedAt(QStringLiteral("127.0.0.1"), rogue->port()));
    QVERIFY2(client.verdicts.first().result == PIN_ERR_UNTRUSTED, qPrintable(client.verdicts.first().message));
    QVERIFY(client.refusedAt(QStringLiteral("localhost"), rogue->port(), QStringLiteral("127.0.0.1")));
    QVERIFY2(client.verdicts.first().result == PIN_ERR_UNTRUSTED, qPrintable(client.verdicts.first().message));
    // Installed the 0.1 way, for a host that is not the one connected to.
    certpin::install(&client.socket, policy, QStringLiteral("unlisted.example"),
                     [&client](const certpin::Verdict &v) { client.verdicts.append(v); });
    QVERIFY(client.refusedAt(QStringLiteral("127.0.0.1"), rogue->port()));
    QTRY_COMPARE_WITH_TIMEOUT(rogue->openConnections(), 0, 5000);
    QCOMPARE(rogue->requestBytes(), qint64(0));

    // The positive control: the same socket reaches the company server.
    QVERIFY(!client.refusedAt(QStringLiteral("127.0.0.1"), company->port()));
    QVERIFY(client.socket.isEncrypted());
    QTRY_VERIFY_WITH_TIMEOUT(company->requestBytes() > 0, 5000);
}

/// "[::ffff:127.0.0.1]" is 127.0.0.1: it falls under 127.0.0.1's rule, never
/// under a broader one.
void Refusals::ipv4MappedAddress()
{
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, false);
    auto company = serve(QStringLiteral("company"), w.companyServer, false);
    QJsonObject strict = demo::loopbackRule({w.companyRoot.certificate});
    QJsonObject everything = demo::loopbackRule({w.publicRoot.certificate});
    everything.insert(QStringLiteral("hosts"), QJsonArray{QStringLiteral("*")});
    QJsonObject document{{QStringLiteral("version"), 1}, {QStringLiteral("rules"), QJsonArray{strict, everything}}};
    QString error;
    const certpin::Policy policy = certpin::Policy::fromJson(QJsonDocument(document).toJson(), &error);
    QVERIFY2(policy.isValid(), qPrintable(error));

    for (const QString &host : {QStringLiteral("127.0.0.1"), QStringLiteral("[::ffff:127.0.0.1]")}) {
        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, policy, rejections.handler());
        const QString url = QStringLiteral("https://%1:%2/").arg(host).arg(rogue->port());
        const Outcome o = demo::fetch(manager, request(url, false), 5000);
        QVERIFY2(refused(o), qPrintable(host + QStringLiteral(": ") + describe(o)));
        QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED), qPrintable(host));
    }
    QTRY_COMPARE_WITH_TIMEOUT(rogue->openConnections(), 0, 5000);
    QCOMPARE(rogue->requestBytes(), qint64(0));

    QNetworkAccessManager manager;
    certpin::install(&manager, policy);
    const Outcome o = demo::fetch(manager, demo::makeRequest(company->url()), 5000);
    QVERIFY2(o.succeeded() && o.body == company->body(), qPrintable(describe(o)));
}

/// A policy in Qt resources names its anchor as "certs/company-root.pem":
/// the resource beside it, never a file of that name in the working
/// directory, which whoever starts the program chooses.
void Refusals::resourcePolicyReadsItsOwnAnchors()
{
    QFile keyFile(QStringLiteral(":/policies/certs/company-root.key"));
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    QFile rootFile(QStringLiteral(":/policies/certs/company-root.pem"));
    QVERIFY(rootFile.open(QIODevice::ReadOnly));
    const QList<QSslCertificate> roots = QSslCertificate::fromData(rootFile.readAll());
    QCOMPARE(roots.size(), 1);
    demo::Credential root;
    root.certificate = roots.first();
    root.keyPem = keyFile.readAll();
    root.key = QSslKey(root.keyPem, QSsl::Ec);
    QVERIFY(!root.key.isNull());
    const demo::Credential server =
        demo::makeServer(root, demo::ServerNames{QStringLiteral("127.0.0.1"), {QStringLiteral("127.0.0.1")}});

    // The attacker's folder holds a certs/company-root.pem of its own.
    const demo::World &w = world();
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QVERIFY(QDir(folder.path()).mkpath(QStringLiteral("certs")));
    QFile planted(folder.filePath(QStringLiteral("certs/company-root.pem")));
    QVERIFY(planted.open(QIODevice::WriteOnly));
    planted.write(w.publicRoot.pem());
    planted.close();
    const QString before = QDir::currentPath();
    QVERIFY(QDir::setCurrent(folder.path()));

    QString error;
    const certpin::Policy policy = certpin::Policy::fromFile(QStringLiteral(":/policies/relative-anchor.json"), &error);
    const certpin::Policy viaQrc =
        certpin::Policy::fromFile(QStringLiteral("qrc:/policies/relative-anchor.json"), &error);
    QFile text(QStringLiteral(":/policies/relative-anchor.json"));
    QVERIFY(text.open(QIODevice::ReadOnly));
    QString jsonError;
    const certpin::Policy fromMemory = certpin::Policy::fromJson(text.readAll(), &jsonError);
    QVERIFY(QDir::setCurrent(before));

    QVERIFY2(policy.isValid() && viaQrc.isValid(), qPrintable(error));
    for (const certpin::Policy *p : {&policy, &viaQrc}) {
        const certpin::Verdict company = p->verify({server.certificate}, QStringLiteral("127.0.0.1"));
        QVERIFY2(company.vouched(), qPrintable(company.message));
        const certpin::Verdict attacker = p->verify({w.misissued.certificate}, QStringLiteral("127.0.0.1"));
        QVERIFY2(attacker.result == PIN_ERR_UNTRUSTED, qPrintable(attacker.message));
    }
    // From memory there is no folder: the relative anchor is an error naming it.
    QVERIFY(!fromMemory.isValid());
    QVERIFY2(jsonError.contains(QLatin1String("PIN_ERR_POLICY_INVALID"))
                 && jsonError.contains(QLatin1String("certs/company-root.pem")),
             qPrintable(jsonError));
}

void Refusals::underLoad_data()
{
    QTest::addColumn<bool>("http2");
    QTest::addColumn<bool>("held");
    QTest::newRow("install(), http/1.1, a connection per request") << false << false;
    QTest::newRow("install(), h2") << true << false;
    QTest::newRow("NetworkAccessManager, http/1.1, a connection per request") << false << true;
    QTest::newRow("NetworkAccessManager, h2") << true << true;
}

/// One pinned manager, 900 requests with 32 in flight, a third of them to a
/// rogue server: replies queued for the rogue origin when certpin rejects
/// one of its connections must not go out on it.
void Refusals::underLoad()
{
    QFETCH(bool, http2);
    QFETCH(bool, held);
    if (http2 && !held && !qEnvironmentVariableIsSet("CERTPIN_KNOWN_LEAKS")) {
        // The limit of install() on a manager made elsewhere (README,
        // SECURITY.md): with HTTP/2, a request Qt handed to its network
        // thread between a connection's handshake and certpin's verdict goes
        // out on it (about 1 run in 15 of this test on Qt 6.4).
        // certpin::NetworkAccessManager holds the handshake instead: its row
        // below runs always. CERTPIN_KNOWN_LEAKS=1 runs this one.
        QSKIP("install() on a plain manager, HTTP/2: the known window; see the NetworkAccessManager row");
    }
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, http2);
    auto company = serve(QStringLiteral("company"), w.companyServer, http2);
    Rejections rejections;
    std::unique_ptr<QNetworkAccessManager> pinned;
    if (held) {
        pinned.reset(new certpin::NetworkAccessManager(companyPolicy(), rejections.handler()));
    } else {
        pinned.reset(new QNetworkAccessManager);
        certpin::install(pinned.get(), companyPolicy(), rejections.handler());
    }
    QNetworkAccessManager &manager = *pinned;

    const int total = 900;
    const int inFlight = 32;
    int started = 0;
    int companyOk = 0;
    int rogueRefused = 0;
    QStringList wrong;
    struct Running {
        std::shared_ptr<Pending> pending;
        bool toRogue;
        QUrl url;
    };
    QList<Running> running;
    QElapsedTimer clock;
    clock.start();
    while ((started < total || !running.isEmpty()) && clock.elapsed() < 120000) {
        while (started < total && running.size() < inFlight) {
            const bool toRogue = started % 3 == 0;
            QNetworkRequest r = request((toRogue ? rogue : company)->url(QStringLiteral("/%1").arg(started)), http2);
            if (!http2)
                r.setRawHeader("Connection", "close");
            running.append(Running{std::make_shared<Pending>(manager.get(r)), toRogue, r.url()});
            ++started;
        }
        demo::spin(5);
        for (auto it = running.begin(); it != running.end();) {
            if (!it->pending->done()) {
                ++it;
                continue;
            }
            const Outcome &o = it->pending->outcome();
            if (it->toRogue && refused(o))
                ++rogueRefused;
            else if (!it->toRogue && o.succeeded() && o.body == company->body())
                ++companyOk;
            else if (wrong.size() < 5)
                wrong << it->url.toString() + QStringLiteral(": ") + describe(o);
            it = running.erase(it);
        }
    }
    QVERIFY2(running.isEmpty(), "requests never finished");
    QTRY_COMPARE_WITH_TIMEOUT(rogue->openConnections(), 0, 10000);
    QVERIFY2(rogue->requestBytes() == 0, qPrintable(QStringLiteral("%1 request bytes reached the rogue server: %2")
                                                        .arg(rogue->requestBytes())
                                                        .arg(QString::fromLatin1(seen(*rogue).left(400)))));
    QCOMPARE(rogue->bytesReceived(), qint64(0));
    for (int i = 0; i < rejections.verdicts.size() && !wrong.isEmpty(); ++i) {
        if (rejections.urls.at(i).port() == company->port())
            wrong << QStringLiteral("rejected: ") + rejections.urls.at(i).toString() + QStringLiteral(": ")
                    + rejections.verdicts.at(i).message.left(300);
    }
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong.mid(0, 8).join(QStringLiteral(" / "))));
    QCOMPARE(rogueRefused, total / 3);
    QCOMPARE(companyOk, total - total / 3);
    QVERIFY(rejections.allOf(PIN_ERR_UNTRUSTED));
}

void Refusals::heldHandshake_data()
{
    addProtocolRows();
}

/// certpin::NetworkAccessManager: a rogue chain is refused inside the
/// handshake (Qt never reports the connection encrypted, the server gets no
/// byte), while the company server is served; the application's own
/// sslErrors slots learn from unhandledSslErrors() what is theirs to judge,
/// and reply->request() is the application's request.
void Refusals::heldHandshake()
{
    QFETCH(bool, http2);
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, http2);
    auto company = serve(QStringLiteral("company"), w.companyServer, http2);
    Rejections rejections;
    certpin::NetworkAccessManager manager(companyPolicy(), rejections.handler());
    QList<QUrl> encrypted;
    QObject::connect(&manager, &QNetworkAccessManager::encrypted, &manager,
                     [&encrypted](QNetworkReply *reply) { encrypted << reply->url(); });
    // Connected after certpin's: sees the errors already judged.
    QList<int> onManager;
    QObject::connect(&manager, &QNetworkAccessManager::sslErrors, &manager,
                     [&onManager, roguePort = rogue->port()](QNetworkReply *reply, const QList<QSslError> &errors) {
                         if (reply->url().port() != roguePort)
                             onManager << int(certpin::unhandledSslErrors(reply, errors).size());
                     });

    QList<std::shared_ptr<Pending>> toRogue;
    QList<std::shared_ptr<Pending>> toCompany;
    QList<QList<QSslError::SslError>> onReply;
    int rawErrors = 0;
    for (int i = 0; i < 4; ++i) {
        QNetworkRequest r = request(rogue->url(QStringLiteral("/secret/%1").arg(i)), http2);
        r.setRawHeader("Authorization", "Bearer not-for-the-rogue");
        toRogue << std::make_shared<Pending>(manager.get(r));
        QNetworkReply *reply = manager.get(request(company->url(QStringLiteral("/%1").arg(i)), http2));
        QCOMPARE(reply->request().peerVerifyName(), QString());
        // A slot on the reply runs after certpin's on the manager.
        QObject::connect(reply, &QNetworkReply::sslErrors, reply,
                         [reply, &onReply, &rawErrors](const QList<QSslError> &errors) {
                             QList<QSslError::SslError> kinds;
                             rawErrors += int(errors.size());
                             for (const QSslError &e : certpin::unhandledSslErrors(reply, errors))
                                 kinds << e.error();
                             onReply << kinds;
                         });
        toCompany << std::make_shared<Pending>(reply);
    }
    QList<demo::Pending *> all;
    for (const auto &p : toRogue + toCompany)
        all << p.get();
    QVERIFY2(demo::waitAll(all, 20000), "requests never finished");
    QTRY_COMPARE_WITH_TIMEOUT(rogue->openConnections(), 0, 10000);
    VERIFY_NOTHING_RECEIVED(*rogue);
    for (const auto &p : toRogue)
        QVERIFY2(refused(p->outcome()), qPrintable(describe(p->outcome())));
    for (const auto &p : toCompany) {
        QVERIFY2(p->outcome().succeeded() && p->outcome().body == company->body(), qPrintable(describe(p->outcome())));
    }
    for (const QUrl &url : encrypted)
        QVERIFY2(url.port() == company->port(), qPrintable(url.toString()));
    QVERIFY(!encrypted.isEmpty());
    QVERIFY(rejections.allOf(PIN_ERR_UNTRUSTED));
    QVERIFY(!rejections.verdicts.isEmpty());
    // Qt reported errors for the company chain (the held name's, and its CA,
    // which Qt does not know); certpin judged them before any slot of the
    // application's ran, so none is left for the application.
    QVERIFY(rawErrors > 0);
    QVERIFY(!onReply.isEmpty() && !onManager.isEmpty());
    for (const auto &kinds : onReply)
        QVERIFY2(kinds.isEmpty(), qPrintable(QString::number(kinds.size())));
    QCOMPARE(onManager.count(0), onManager.size());
}

void Refusals::refusalNamesItsResult_data()
{
    addProtocolRows();
}

/// A UI tells "this server is not ours" from "no network": a refused reply
/// has certpin's verdict (verdictOf) and its message as errorString(), for
/// a refusal in `encrypted` (install()), in `sslErrors`
/// (NetworkAccessManager) and by the quarantine; a connection refused by
/// the network has neither.
void Refusals::refusalNamesItsResult()
{
    QFETCH(bool, http2);
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, http2);
    QNetworkAccessManager plain;
    certpin::install(&plain, companyPolicy());
    certpin::NetworkAccessManager held(companyPolicy());
    for (QNetworkAccessManager *manager : {&plain, static_cast<QNetworkAccessManager *>(&held)}) {
        // The second request is refused by the quarantine the first left.
        for (int i = 0; i < 2; ++i) {
            std::unique_ptr<QNetworkReply> reply(
                manager->get(request(rogue->url(QStringLiteral("/%1").arg(i)), http2)));
            QString errorAtFinished;
            QObject::connect(reply.get(), &QNetworkReply::finished, reply.get(),
                             [&errorAtFinished, &reply] { errorAtFinished = reply->errorString(); });
            QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
            const certpin::Verdict verdict = certpin::verdictOf(reply.get());
            QVERIFY2(verdict.isValid(), qPrintable(reply->errorString()));
            QCOMPARE(verdict.result, PIN_ERR_UNTRUSTED);
            QVERIFY2(reply->errorString().startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")),
                     qPrintable(reply->errorString()));
            // Already so when the application's `finished` slot runs.
            QVERIFY2(errorAtFinished == reply->errorString(), qPrintable(errorAtFinished));
        }
    }
    VERIFY_NOTHING_RECEIVED(*rogue);

    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
    const quint16 port = closed.serverPort();
    closed.close();
    std::unique_ptr<QNetworkReply> reply(held.get(request(QStringLiteral("https://127.0.0.1:%1/").arg(port), http2)));
    QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
    QCOMPARE(reply->error(), QNetworkReply::ConnectionRefusedError);
    QVERIFY(!certpin::verdictOf(reply.get()).isValid());
    QVERIFY2(!reply->errorString().startsWith(QLatin1String("PIN_ERR")), qPrintable(reply->errorString()));
}

void Refusals::applicationDisconnectsTheReply_data()
{
    addProtocolRows();
}

/// An application slot that disconnects the reply when it fails (as QML's
/// XMLHttpRequest does, in the error slot certpin's abort runs) must not
/// undo the abort: Qt tells its network thread after those slots.
void Refusals::applicationDisconnectsTheReply()
{
    QFETCH(bool, http2);
    const demo::World &w = world();
    auto rogue = serve(QStringLiteral("rogue"), w.misissued, http2);
    auto company = serve(QStringLiteral("company"), w.companyServer, http2);
    // Whether the request would have gone out is a race in Qt's network
    // thread: 8 connections, each refused.
    for (int i = 0; i < 8; ++i) {
        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, companyPolicy(), rejections.handler());
        std::unique_ptr<QNetworkReply> toRogue(
            manager.get(request(rogue->url(QStringLiteral("/secret/%1").arg(i)), http2)));
        bool failed = false;
        QObject::connect(toRogue.get(), &QNetworkReply::errorOccurred, toRogue.get(), [&failed, &toRogue] {
            failed = true;
            toRogue->disconnect();
        });
        QTRY_VERIFY_WITH_TIMEOUT(failed, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(rogue->openConnections(), 0, 3000);
        QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED), qPrintable(rejections.describe()));
    }
    VERIFY_NOTHING_RECEIVED(*rogue);

    QNetworkAccessManager manager;
    certpin::install(&manager, companyPolicy());
    const Outcome o = demo::fetch(manager, request(company->url(QStringLiteral("/")), http2));
    QVERIFY2(o.succeeded() && o.body == company->body(), qPrintable(describe(o)));
}

QTEST_GUILESS_MAIN(Refusals)
#include "tst_refusals.moc"
