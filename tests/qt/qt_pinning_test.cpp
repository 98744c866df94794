// End-to-end tests of certpin_qt.hpp against TLS servers on 127.0.0.1.
//
//     certpin-qt-tests <case>      runs one case (ctest runs each on its own)
//     certpin-qt-tests --list      names the cases
//
// Every wait is bounded (a timeout is a failure, never a pass), nothing is
// asserted about how long something took but "within the bound".
#include "certpin_qt.hpp"

#include "demo_world.hpp"
#include "fetch.hpp"
#include "loopback_server.hpp"
#include "report_collector.hpp"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkDiskCache>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using demo::LoopbackServer;
using demo::Outcome;
using demo::Pending;

namespace {

int failures = 0;

void expect(bool ok, const char *what, int line, const QString &context = QString())
{
    if (ok)
        return;
    ++failures;
    std::fprintf(stderr, "qt_pinning_test.cpp:%d: FAILED: %s%s%s\n", line, what, context.isEmpty() ? "" : "\n    ",
                 qPrintable(context));
}

#define CHECK(cond) expect((cond), #cond, __LINE__)
#define CHECK_WHY(cond, context) expect((cond), #cond, __LINE__, (context))

const demo::World &world()
{
    static const demo::World w = demo::World::make();
    return w;
}

/// Records what install()'s onReject handlers were told.
struct Rejections {
    QList<certpin::Verdict> verdicts;
    /// The ALPN protocol of each rejected reply's connection.
    QList<QByteArray> protocols;

    std::function<void(QNetworkReply *, const certpin::Verdict &)> forReplies()
    {
        return [this](QNetworkReply *reply, const certpin::Verdict &v) {
            verdicts.append(v);
            protocols.append(reply->sslConfiguration().nextNegotiatedProtocol());
        };
    }
    std::function<void(const certpin::Verdict &)> forSocket()
    {
        return [this](const certpin::Verdict &v) { verdicts.append(v); };
    }
    bool onlyOf(pin_result result) const
    {
        if (verdicts.isEmpty())
            return false;
        for (const certpin::Verdict &v : verdicts) {
            if (v.result != result || v.message.isEmpty())
                return false;
        }
        return true;
    }
    QString describe() const
    {
        QStringList lines;
        for (const certpin::Verdict &v : verdicts)
            lines << v.message;
        return QStringLiteral("%1 rejection(s): %2").arg(verdicts.size()).arg(lines.join(QStringLiteral(" / ")));
    }
};

std::unique_ptr<LoopbackServer> serve(const QString &name, const QList<QSslCertificate> &chain, const QSslKey &key)
{
    auto server = std::make_unique<LoopbackServer>(name, chain, key);
    if (!server->start())
        qFatal("cannot listen on 127.0.0.1");
    return server;
}

std::unique_ptr<LoopbackServer> serve(const QString &name, const demo::Credential &credential)
{
    return serve(name, {credential.certificate}, credential.key);
}

QString describe(const Outcome &o)
{
    return QStringLiteral("%1 (error %2: %3), body seen: %4")
        .arg(o.summary())
        .arg(static_cast<int>(o.error))
        .arg(o.errorString)
        .arg(o.bodySeen ? QStringLiteral("yes") : QStringLiteral("no"));
}

/// A request whose TLS configuration trusts the public root, as the system store would.
QNetworkRequest trustingPublicRoot(const QString &url, bool http2 = false)
{
    QNetworkRequest request = demo::makeRequest(url, http2);
    request.setSslConfiguration(world().configurationTrustingPublicRoot());
    return request;
}

/// Runs the event loop until `done` or `timeoutMs`; returns `done()`.
bool waitFor(const std::function<bool()> &done, int timeoutMs = 5000)
{
    QElapsedTimer clock;
    clock.start();
    while (!done() && clock.elapsed() < timeoutMs)
        demo::spin(10);
    return done();
}

/// What `server` received, counted once every connection to it is closed
/// (the count is final only then). A refused connection must be closed: not
/// being closed within the bound is a failure.
qint64 receivedOnceClosed(const LoopbackServer &server)
{
    const bool closed = waitFor([&server] { return server.openConnections() == 0; }, 3000);
    CHECK_WHY(closed, QStringLiteral("a connection to the refused server stays open"));
    if (server.bytesReceived() != 0)
        std::fprintf(stderr, "    %lld bytes reached the server\n", static_cast<long long>(server.bytesReceived()));
    return server.bytesReceived();
}

certpin::Policy policy(const QByteArray &json)
{
    QString error;
    certpin::Policy p = certpin::Policy::fromJson(json, &error);
    CHECK_WHY(p.isValid(), error);
    return p;
}

bool refused(const Outcome &o)
{
    return o.finished && o.error != QNetworkReply::NoError && !o.bodySeen;
}

// --- The cases ---------------------------------------------------------------

void verdictApi()
{
    const demo::World &w = world();
    certpin::Policy none;
    CHECK(!none.isValid());
    const certpin::Verdict empty = none.verify({w.companyServer.certificate}, QStringLiteral("127.0.0.1"));
    CHECK(!empty.ok());

    const certpin::Policy company = policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate})));
    const certpin::Verdict ok = company.verify({w.companyServer.certificate}, QStringLiteral("127.0.0.1"), 443);
    CHECK_WHY(ok.ok() && ok.vouched() && ok.nameVerified(), ok.message);
    CHECK(ok.message.isEmpty());
    CHECK(ok.resultName() == QLatin1String("PIN_OK"));

    const certpin::Verdict uncovered = company.verify({w.companyServer.certificate}, QStringLiteral("localhost"));
    CHECK(uncovered.result == PIN_ERR_HOST_NOT_COVERED);
    const certpin::Verdict untrusted = company.verify({w.misissued.certificate}, QStringLiteral("127.0.0.1"));
    CHECK(untrusted.result == PIN_ERR_UNTRUSTED && !untrusted.vouched());
    CHECK_WHY(untrusted.message.startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")), untrusted.message);
    // The message names the served certificate by its pin.
    CHECK_WHY(untrusted.message.contains(demo::spkiPin(w.misissued.certificate)), untrusted.message);
    CHECK(company.verify({}, QStringLiteral("127.0.0.1")).result == PIN_ERR_CHAIN_EMPTY);

    QString error;
    const certpin::Policy broken = certpin::Policy::fromJson("{\"version\": 1, \"rulez\": []}", &error);
    CHECK(!broken.isValid());
    CHECK_WHY(error.contains(QLatin1String("PIN_ERR_POLICY_INVALID")) && error.contains(QLatin1String("rulez")), error);
    CHECK(broken.errorString() == error);
    const certpin::Policy missing = certpin::Policy::fromFile(QStringLiteral("/nonexistent/pins.json"), &error);
    CHECK_WHY(!missing.isValid() && error.contains(QLatin1String("PIN_ERR_POLICY_IO")), error);
    // A policy in Qt resources is read through QFile: the misspelt key is
    // found, so the text was read.
    const certpin::Policy resource = certpin::Policy::fromFile(QStringLiteral(":/policies/misspelt.json"), &error);
    CHECK_WHY(!resource.isValid() && error.contains(QLatin1String("PIN_ERR_POLICY_INVALID"))
                  && error.contains(QLatin1String("rulez")),
              error);
    certpin::Policy::fromFile(QStringLiteral("qrc:/policies/misspelt.json"), &error);
    CHECK_WHY(error.contains(QLatin1String("rulez")), error);
    const certpin::Policy noResource = certpin::Policy::fromFile(QStringLiteral(":/policies/none.json"), &error);
    CHECK_WHY(!noResource.isValid() && error.contains(QLatin1String("PIN_ERR_POLICY_IO")), error);
    CHECK(noResource.verify({w.selfSigned.certificate}, QStringLiteral("127.0.0.1")).result == PIN_ERR_POLICY_IO);
    const certpin::Policy pem = certpin::Policy::fromPem(w.selfSigned.pem(), &error);
    CHECK_WHY(pem.isValid() && error.isEmpty(), error);
}

void selfSignedPinned()
{
    const demo::World &w = world();
    auto pinned = serve(QStringLiteral("pinned"), w.selfSigned);
    {
        QNetworkAccessManager qtAlone;
        const Outcome o = demo::fetch(qtAlone, demo::makeRequest(pinned->url()));
        CHECK_WHY(o.finished && o.error == QNetworkReply::SslHandshakeFailedError, describe(o));
        CHECK(receivedOnceClosed(*pinned) == 0);
    }
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, certpin::Policy::fromPem(w.selfSigned.pem()), rejections.forReplies());
    // No setCaCertificates anywhere: certpin vouches in sslErrors.
    const Outcome o = demo::fetch(manager, demo::makeRequest(pinned->url()));
    CHECK_WHY(o.succeeded() && o.body == pinned->body(), describe(o));
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());

    // Another self-signed certificate for the same address is still refused.
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    const Outcome s = demo::fetch(manager, demo::makeRequest(stranger->url()));
    CHECK_WHY(refused(s), describe(s));
    CHECK(receivedOnceClosed(*stranger) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
}

void companyCa()
{
    const demo::World &w = world();
    auto leafOnly = serve(QStringLiteral("company (leaf only)"), w.companyServer);
    auto withRoot = serve(QStringLiteral("company (leaf and root)"),
                          {w.companyServer.certificate, w.companyRoot.certificate}, w.companyServer.key);
    {
        QNetworkAccessManager qtAlone;
        const Outcome o = demo::fetch(qtAlone, demo::makeRequest(leafOnly->url()));
        CHECK_WHY(o.error == QNetworkReply::SslHandshakeFailedError, describe(o));
    }
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    for (LoopbackServer *server : {leafOnly.get(), withRoot.get()}) {
        const Outcome o = demo::fetch(manager, demo::makeRequest(server->url()));
        CHECK_WHY(o.succeeded() && o.body == server->body(), describe(o));
    }
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());
}

void misissuedPublicCertificate()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("mis-issued"), w.misissued);
    {
        QNetworkAccessManager qtAlone;
        const Outcome o = demo::fetch(qtAlone, trustingPublicRoot(server->url()));
        CHECK_WHY(o.succeeded(), describe(o));
        CHECK(server->bytesReceived() > 0);
    }
    // Aborted in `encrypted`, before the request was written. Whether a
    // late abort lets the request out is a race, so the round is repeated.
    const certpin::Policy company = policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate})));
    for (int round = 0; round < 10; ++round) {
        server->resetCounts();
        QNetworkAccessManager manager;
        Rejections rejections;
        certpin::install(&manager, company, rejections.forReplies());
        const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
        CHECK_WHY(refused(o) && o.error == QNetworkReply::OperationCanceledError, describe(o));
        CHECK(receivedOnceClosed(*server) == 0);
        CHECK_WHY(server->connections() == 1, QString::number(server->connections()));
        CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());
    }
}

void appendedPinChain()
{
    const demo::World &w = world();
    auto attacker = serve(QStringLiteral("CVE-2016-2402"), w.appendedPinChain(), w.misissued.key);
    auto site = serve(QStringLiteral("site"), {w.siteServer.certificate, w.pinnedIntermediate.certificate},
                      w.siteServer.key);
    const certpin::Policy pinned = policy(demo::policyJson(
        demo::loopbackRule({w.publicRoot.certificate}, {demo::spkiPin(w.pinnedIntermediate.certificate)})));
    {
        QNetworkAccessManager qtAlone;
        const Outcome o = demo::fetch(qtAlone, trustingPublicRoot(attacker->url()));
        CHECK_WHY(o.succeeded(), describe(o));
        // The pinned key is in what the server sent: a check of
        // peerCertificateChain() would have been fooled.
    }
    attacker->resetCounts();
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, pinned, rejections.forReplies());
    const Outcome o = demo::fetch(manager, trustingPublicRoot(attacker->url()));
    CHECK_WHY(refused(o), describe(o));
    CHECK(receivedOnceClosed(*attacker) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_PIN_MISMATCH), rejections.describe());
    // The real site, whose path does go through the pinned intermediate, passes.
    const Outcome real = demo::fetch(manager, trustingPublicRoot(site->url()));
    CHECK_WHY(real.succeeded(), describe(real));
}

void reuseAfterPolicyChange()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("public"), w.misissued);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.publicRoot.certificate}))),
                     rejections.forReplies());
    const Outcome first = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(first.succeeded(), describe(first));
    CHECK(server->connections() == 1);

    // The new policy no longer trusts the public root. The manager is idle,
    // so the cached connection is dropped at once and the next request
    // needs a new handshake, which certpin refuses before sending anything.
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    server->resetCounts();
    const Outcome second = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(refused(second), describe(second));
    CHECK_WHY(server->connections() == 1, QString::number(server->connections()));
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
}

void reusedConnectionBackstop()
{
    const demo::World &w = world();
    auto reused = serve(QStringLiteral("reused"), w.misissued);
    auto slow = serve(QStringLiteral("slow"), w.selfSigned);
    slow->setMode(LoopbackServer::Mode::Hold);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager,
                     policy(demo::policyJson(
                         demo::loopbackRule({w.publicRoot.certificate, w.selfSigned.certificate}))),
                     rejections.forReplies());
    const Outcome first = demo::fetch(manager, trustingPublicRoot(reused->url()));
    CHECK_WHY(first.succeeded(), describe(first));

    // A request is under way when the policy changes: the connection cache
    // cannot be cleared (that would strand it), so the idle connection to
    // `reused` is still there and Qt reuses it without a handshake.
    Pending inFlight(manager.get(demo::makeRequest(slow->url())));
    CHECK(waitFor([&] { return slow->requests() == 1; }));
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.selfSigned.certificate}))),
                     rejections.forReplies());
    reused->resetCounts();
    const Outcome second = demo::fetch(manager, trustingPublicRoot(reused->url()));
    CHECK_WHY(second.finished && second.error == QNetworkReply::OperationCanceledError, describe(second));
    CHECK_WHY(!second.bodySeen && second.body.isEmpty(), describe(second));
    CHECK_WHY(reused->connections() == 0,
              QStringLiteral("the connection was not reused: the backstop was not tested"));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
    // What stays (README): on a connection opened before the policy, while
    // another reply keeps it from being closed, the request itself went out;
    // the backstop keeps only the answer from the application.
    CHECK_WHY(reused->requestBytes() > 0, QStringLiteral("the request on the reused connection was not sent"));

    // The request under way finishes (the new policy accepts its server)...
    slow->release();
    CHECK_WHY(demo::waitAll({&inFlight}, 5000), QStringLiteral("the request in flight at install never finished"));
    CHECK_WHY(inFlight.outcome().succeeded(), describe(inFlight.outcome()));
    // ...then the manager is idle, the cache is dropped, and the next request
    // to `reused` needs a handshake, refused before any byte is sent.
    demo::spin(50);
    reused->resetCounts();
    const Outcome third = demo::fetch(manager, trustingPublicRoot(reused->url()));
    CHECK_WHY(refused(third), describe(third));
    CHECK_WHY(reused->connections() == 1, QString::number(reused->connections()));
    CHECK(receivedOnceClosed(*reused) == 0);
}

void requestInFlightAtInstall()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("slow"), w.misissued);
    server->setMode(LoopbackServer::Mode::Hold);
    QNetworkAccessManager manager;
    Pending accepted(manager.get(trustingPublicRoot(server->url(QStringLiteral("/a")))));
    CHECK(waitFor([&] { return server->requests() == 1; }));
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.publicRoot.certificate}))));
    server->release();
    CHECK_WHY(demo::waitAll({&accepted}, 5000), QStringLiteral("a request in flight at install never finished"));
    CHECK_WHY(accepted.outcome().succeeded(), describe(accepted.outcome()));

    // Installed while a request to a server it rejects is under way: that
    // request finishes too (with an error), its body withheld.
    Pending doomed(manager.get(trustingPublicRoot(server->url(QStringLiteral("/b")))));
    CHECK(waitFor([&] { return server->requests() == 2; }));
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    server->release();
    CHECK_WHY(demo::waitAll({&doomed}, 5000), QStringLiteral("a request in flight at install never finished"));
    CHECK_WHY(refused(doomed.outcome()), describe(doomed.outcome()));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
}

void http2Siblings()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("h2"), w.misissued);
    server->setAlpn({QByteArrayLiteral("h2")});
    server->setMode(LoopbackServer::Mode::Silent);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    Pending one(manager.get(trustingPublicRoot(server->url(QStringLiteral("/one")), true)));
    Pending two(manager.get(trustingPublicRoot(server->url(QStringLiteral("/two")), true)));
    const bool bothDone = demo::waitAll({&one, &two}, 2000);
    CHECK_WHY(bothDone, QStringLiteral("a request on the rejected HTTP/2 connection hangs"));
    CHECK_WHY(refused(one.outcome()), describe(one.outcome()));
    CHECK_WHY(refused(two.outcome()), describe(two.outcome()));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
    CHECK_WHY(rejections.protocols.contains(QByteArrayLiteral("h2")),
              QStringLiteral("HTTP/2 was not negotiated: the test does not test HTTP/2"));

    // Once nothing is under way the rejected connection is closed.
    CHECK_WHY(waitFor([&] { return server->openConnections() == 0; }, 3000),
              QStringLiteral("the rejected HTTP/2 connection stays open"));

    // The manager is not left stuck: a good server is reached afterwards.
    auto good = serve(QStringLiteral("company"), w.companyServer);
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))));
    const Outcome after = demo::fetch(manager, demo::makeRequest(good->url(), true), 5000);
    CHECK_WHY(after.succeeded(), describe(after));
}

void http2Accepted()
{
    // The checks in `encrypted` and on every reply's headers let a pinned
    // HTTP/2 server through, concurrent requests and a reused connection alike.
    const demo::World &w = world();
    auto server = serve(QStringLiteral("h2"), w.companyServer);
    server->setAlpn({QByteArrayLiteral("h2")});
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    Pending one(manager.get(demo::makeRequest(server->url(QStringLiteral("/one")), true)));
    Pending two(manager.get(demo::makeRequest(server->url(QStringLiteral("/two")), true)));
    CHECK(demo::waitAll({&one, &two}, 5000));
    for (const Pending *p : {&one, &two}) {
        CHECK_WHY(p->outcome().succeeded() && p->outcome().http2 && p->outcome().body == server->body(),
                  describe(p->outcome()));
    }
    const Outcome reused = demo::fetch(manager, demo::makeRequest(server->url(QStringLiteral("/three")), true));
    CHECK_WHY(reused.succeeded() && reused.http2, describe(reused));
    CHECK(server->connections() == 1);
    CHECK(server->requests() == 3);
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());
}

void http2ReusedConnectionBackstop()
{
    const demo::World &w = world();
    auto reused = serve(QStringLiteral("h2"), w.misissued);
    reused->setAlpn({QByteArrayLiteral("h2")});
    auto slow = serve(QStringLiteral("slow"), w.selfSigned);
    slow->setMode(LoopbackServer::Mode::Hold);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager,
                     policy(demo::policyJson(
                         demo::loopbackRule({w.publicRoot.certificate, w.selfSigned.certificate}))),
                     rejections.forReplies());
    const Outcome first = demo::fetch(manager, trustingPublicRoot(reused->url(), true));
    CHECK_WHY(first.succeeded() && first.http2, describe(first));

    Pending inFlight(manager.get(demo::makeRequest(slow->url())));
    CHECK(waitFor([&] { return slow->requests() == 1; }));
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.selfSigned.certificate}))),
                     rejections.forReplies());
    reused->resetCounts();
    const Outcome second = demo::fetch(manager, trustingPublicRoot(reused->url(), true));
    CHECK_WHY(second.finished && second.error == QNetworkReply::OperationCanceledError, describe(second));
    CHECK_WHY(!second.bodySeen && second.body.isEmpty(), describe(second));
    CHECK_WHY(reused->connections() == 0,
              QStringLiteral("the HTTP/2 connection was not reused: the backstop was not tested"));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());

    slow->release();
    CHECK_WHY(demo::waitAll({&inFlight}, 5000), QStringLiteral("the request in flight at install never finished"));
    CHECK_WHY(inFlight.outcome().succeeded(), describe(inFlight.outcome()));
    // Idle now: the rejected HTTP/2 connection is closed.
    CHECK_WHY(waitFor([&] { return reused->openConnections() == 0; }, 3000),
              QStringLiteral("the rejected HTTP/2 connection stays open"));
}

void unlistedHostsAllowed()
{
    const demo::World &w = world();
    QJsonObject rule = demo::loopbackRule({w.companyRoot.certificate});
    rule.insert(QStringLiteral("hosts"), QJsonArray{QStringLiteral("api.example.com")});
    const certpin::Policy allowing = policy(demo::policyJson(rule, QStringLiteral("allow")));
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, allowing, rejections.forReplies());

    // certpin says PIN_OK for the unlisted host but does not vouch: Qt's
    // refusal of an unknown self-signed certificate stands.
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    const Outcome s = demo::fetch(manager, demo::makeRequest(stranger->url()));
    CHECK_WHY(s.finished && s.error == QNetworkReply::SslHandshakeFailedError, describe(s));
    CHECK(receivedOnceClosed(*stranger) == 0);
    // And Qt's acceptance stands too.
    auto trusted = serve(QStringLiteral("trusted by Qt"), w.misissued);
    const Outcome t = demo::fetch(manager, trustingPublicRoot(trusted->url()));
    CHECK_WHY(t.succeeded(), describe(t));
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());
}

void hostNameErrorsNeedCertpinsNameCheck()
{
    // A self-signed certificate for "localhost" without SAN, reached by
    // 127.0.0.1: Qt reports HostNameMismatch and SelfSignedCertificate.
    const demo::Credential localhost = demo::makeSelfSignedServer({QStringLiteral("localhost"), {}});
    auto server = serve(QStringLiteral("localhost"), localhost);

    // The rule does not check names: certpin vouches for the key but not
    // the name, so Qt's host-name error stands.
    QJsonObject rule = demo::loopbackRule({localhost.certificate});
    rule.insert(QStringLiteral("verify_hostname"), false);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(rule)), rejections.forReplies());
    const Outcome o = demo::fetch(manager, demo::makeRequest(server->url()));
    CHECK_WHY(o.finished && o.error == QNetworkReply::SslHandshakeFailedError, describe(o));
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());

    // Qt is stricter than certpin about a name with a trailing dot: for
    // "pinned.example." it reports HostNameMismatch (and SelfSignedCertificate),
    // certpin checks the name itself (PIN_FLAG_NAME_VERIFIED), so both are ignored.
    const demo::Credential dotted =
        demo::makeSelfSignedServer({QStringLiteral("pinned.example"), {QStringLiteral("pinned.example")}});
    auto proxied = serve(QStringLiteral("pinned.example"), dotted);
    proxied->setProxying(true); // reached through itself as proxy: no name to resolve
    QNetworkAccessManager viaProxy;
    viaProxy.setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), proxied->port()));
    QList<QSslError::SslError> reported;
    QObject::connect(&viaProxy, &QNetworkAccessManager::sslErrors, &viaProxy,
                     [&reported](QNetworkReply *, const QList<QSslError> &errors) {
                         for (const QSslError &e : errors)
                             reported << e.error();
                     });
    certpin::install(&viaProxy, certpin::Policy::fromPem(dotted.pem()), rejections.forReplies());
    const Outcome trailing = demo::fetch(viaProxy, demo::makeRequest(QStringLiteral("https://pinned.example./")));
    CHECK_WHY(trailing.succeeded(), describe(trailing) + QLatin1Char(' ') + rejections.describe());
    CHECK_WHY(reported.contains(QSslError::HostNameMismatch),
              QStringLiteral("Qt did not report HostNameMismatch: the case is not tested"));

    // With the name checked, certpin itself refuses.
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({localhost.certificate}))),
                     rejections.forReplies());
    const Outcome checked = demo::fetch(manager, demo::makeRequest(server->url()));
    CHECK_WHY(refused(checked), describe(checked));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_HOSTNAME_MISMATCH), rejections.describe());
}

void internationalHostName()
{
    // Reached through an HTTP proxy (the server itself), so the name needs no
    // resolver; certpin must be asked about the A-label.
    const QString ace = QStringLiteral("xn--bcher-kva.example");
    const demo::Credential idn = demo::makeSelfSignedServer({ace, {ace}});
    auto server = serve(QStringLiteral("idn"), idn);
    server->setProxying(true);
    QJsonObject rule = demo::loopbackRule({idn.certificate});
    rule.insert(QStringLiteral("hosts"), QJsonArray{ace});
    QNetworkAccessManager manager;
    manager.setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), server->port()));
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(rule)), rejections.forReplies());
    const Outcome o = demo::fetch(manager, demo::makeRequest(QStringLiteral("https://b\u00fccher.example/")));
    CHECK_WHY(o.succeeded(), describe(o) + QLatin1Char(' ') + rejections.describe());
    CHECK_WHY(server->connectTargets() == QList<QByteArray>{ace.toLatin1() + ":443"},
              QString::fromLatin1(server->connectTargets().value(0)));
}

void redirectToAnotherServer()
{
    const demo::World &w = world();
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    auto pinned = serve(QStringLiteral("pinned"), w.selfSigned);
    pinned->setRedirect(stranger->url());
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, certpin::Policy::fromPem(w.selfSigned.pem()), rejections.forReplies());
    QNetworkRequest request = demo::makeRequest(pinned->url());
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::NoLessSafeRedirectPolicy);
    const Outcome o = demo::fetch(manager, request);
    CHECK_WHY(refused(o), describe(o));
    // (Qt sends the first request twice on its connection, certpin or not.)
    CHECK(pinned->requests() >= 1);
    CHECK(stranger->connections() == 1);
    CHECK(receivedOnceClosed(*stranger) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
}

void diskCacheLeftAlone()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("cacheable"), w.misissued);
    QTemporaryDir folder;
    CHECK(folder.isValid());
    QNetworkAccessManager manager;
    auto *cache = new QNetworkDiskCache;
    cache->setCacheDirectory(folder.path());
    manager.setCache(cache);
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.publicRoot.certificate}))));
    const Outcome first = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(first.succeeded(), describe(first));

    // Served from the disk cache: no connection and no chain to check.
    Rejections rejections;
    certpin::install(&manager, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    server->resetCounts();
    // AlwaysCache and PreferCache take different paths through Qt.
    for (const auto control : {QNetworkRequest::AlwaysCache, QNetworkRequest::PreferCache}) {
        QNetworkRequest fromCache = trustingPublicRoot(server->url());
        fromCache.setAttribute(QNetworkRequest::CacheLoadControlAttribute, control);
        const Outcome cached = demo::fetch(manager, fromCache);
        CHECK_WHY(cached.succeeded() && cached.body == server->body(), describe(cached));
    }
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());
    // Fetched from the network again, the same URL is refused.
    QNetworkRequest fromNetwork = trustingPublicRoot(server->url());
    fromNetwork.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    const Outcome fresh = demo::fetch(manager, fromNetwork);
    CHECK_WHY(refused(fresh), describe(fresh));
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED), rejections.describe());
}

void brokenPolicyFailsClosed()
{
    const demo::World &w = world();
    auto server = serve(QStringLiteral("trusted by Qt"), w.misissued);
    QString error;
    const certpin::Policy broken = certpin::Policy::fromJson("{ not json", &error);
    CHECK(!broken.isValid());
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, broken, rejections.forReplies());
    const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(refused(o), describe(o));
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_POLICY_SYNTAX), rejections.describe());
    CHECK_WHY(!rejections.verdicts.isEmpty() && rejections.verdicts.first().message == error, rejections.describe());
}

void configurationUntouched()
{
    const demo::World &w = world();
    const QSslConfiguration before = QSslConfiguration::defaultConfiguration();
    auto company = serve(QStringLiteral("company"), w.companyServer);
    auto pinned = serve(QStringLiteral("pinned"), w.selfSigned);
    QNetworkAccessManager manager;
    certpin::install(&manager,
                     policy(demo::policyJson(
                         demo::loopbackRule({w.companyRoot.certificate, w.selfSigned.certificate}))));
    const QSslConfiguration mine = world().configurationTrustingPublicRoot();
    QNetworkRequest request = demo::makeRequest(company->url());
    request.setSslConfiguration(mine);
    Pending pending(manager.get(request));
    QList<QSslCertificate> used;
    QObject::connect(pending.reply(), &QNetworkReply::metaDataChanged, pending.reply(),
                     [&] { used = pending.reply()->sslConfiguration().caCertificates(); });
    CHECK(demo::waitAll({&pending}, 5000));
    CHECK_WHY(pending.outcome().succeeded(), describe(pending.outcome()));
    CHECK(used == mine.caCertificates());
    const Outcome o = demo::fetch(manager, demo::makeRequest(pinned->url()));
    CHECK_WHY(o.succeeded(), describe(o));
    CHECK(QSslConfiguration::defaultConfiguration() == before);
}

/// A client socket that writes a request from its own `encrypted` slot,
/// connected after install() as the documentation asks.
struct SocketClient {
    QSslSocket socket;
    QByteArray received;
    bool appSlotRan = false;

    explicit SocketClient(const QSslConfiguration &configuration)
    {
        socket.setSslConfiguration(configuration);
    }
    void run(quint16 port)
    {
        QObject::connect(&socket, &QSslSocket::encrypted, &socket, [this] {
            appSlotRan = true;
            socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        });
        QObject::connect(&socket, &QSslSocket::readyRead, &socket, [this] { received += socket.readAll(); });
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
        waitFor([this] {
            return socket.state() == QAbstractSocket::UnconnectedState || received.contains("hello from");
        });
    }
};

void sslSocket()
{
    const demo::World &w = world();
    const certpin::Policy pinned = certpin::Policy::fromPem(w.selfSigned.pem());
    Rejections rejections;

    auto good = serve(QStringLiteral("pinned"), w.selfSigned);
    SocketClient accepted(QSslConfiguration::defaultConfiguration());
    certpin::install(&accepted.socket, pinned, rejections.forSocket());
    accepted.run(good->port());
    CHECK_WHY(accepted.received.startsWith("HTTP/1.1 200"), QString::fromLatin1(accepted.received));
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());

    // Refused in sslErrors: a self-signed certificate that is not pinned.
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    SocketClient strange(QSslConfiguration::defaultConfiguration());
    certpin::install(&strange.socket, pinned, QStringLiteral("127.0.0.1"), rejections.forSocket());
    strange.run(stranger->port());
    CHECK(strange.socket.state() == QAbstractSocket::UnconnectedState);
    CHECK(receivedOnceClosed(*stranger) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());

    // Refused in `encrypted`: a chain Qt trusts. The application's own slot
    // runs after certpin's, on a socket that is already aborted: nothing is sent.
    rejections.verdicts.clear();
    auto misissued = serve(QStringLiteral("mis-issued"), w.misissued);
    SocketClient trusting(w.configurationTrustingPublicRoot());
    certpin::install(&trusting.socket, pinned, QStringLiteral("127.0.0.1"), rejections.forSocket());
    trusting.run(misissued->port());
    demo::spin(50);
    CHECK(trusting.socket.state() == QAbstractSocket::UnconnectedState);
    CHECK(trusting.received.isEmpty());
    CHECK(receivedOnceClosed(*misissued) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());

    // Installed on a socket that is already encrypted: judged at once.
    rejections.verdicts.clear();
    auto late = serve(QStringLiteral("late"), w.misissued);
    QSslSocket socket;
    socket.setSslConfiguration(w.configurationTrustingPublicRoot());
    socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), late->port());
    CHECK(waitFor([&] { return socket.isEncrypted(); }));
    certpin::install(&socket, pinned, QStringLiteral("127.0.0.1"), rejections.forSocket());
    CHECK(socket.state() == QAbstractSocket::UnconnectedState);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());
    CHECK(receivedOnceClosed(*late) == 0);
}

// --- Violation reports ---------------------------------------------------------

using collector::ReportCollector;

std::unique_ptr<ReportCollector> collect(ReportCollector::Answer answer = ReportCollector::Answer::Accept)
{
    auto reports = std::make_unique<ReportCollector>(answer);
    if (!reports->start())
        qFatal("cannot listen on 127.0.0.1");
    return reports;
}

/// `rule` with a report_uri, report-only or enforced.
QJsonObject reporting(QJsonObject rule, const QString &uri, bool reportOnly = false)
{
    rule.insert(QStringLiteral("report_uri"), uri);
    if (reportOnly)
        rule.insert(QStringLiteral("report_only"), true);
    return rule;
}

/// The JSON object a collector received; empty when the body is not one.
QJsonObject reportOf(const collector::Received &received)
{
    return QJsonDocument::fromJson(received.body).object();
}

QString describe(const QList<collector::Received> &received)
{
    QStringList lines;
    for (const collector::Received &r : received) {
        const QJsonObject report = reportOf(r);
        lines << QStringLiteral("%1 %2 %3:%4")
                     .arg(QString::fromLatin1(r.method), report.value(QStringLiteral("certpin-result")).toString(),
                          report.value(QStringLiteral("hostname")).toString())
                     .arg(report.value(QStringLiteral("port")).toInt());
    }
    return QStringLiteral("%1 report(s): %2").arg(received.size()).arg(lines.join(QStringLiteral(" / ")));
}

/// The certificates of a report's PEM array.
QList<QSslCertificate> certificatesOf(const QJsonValue &array)
{
    QList<QSslCertificate> certificates;
    for (const QJsonValue pem : array.toArray())
        certificates << QSslCertificate::fromData(pem.toString().toLatin1(), QSsl::Pem);
    return certificates;
}

/// Checks that `received` is a well-formed report of a violation with
/// `result` by the server at 127.0.0.1:`port`, serving `leaf`, under an exact
/// "127.0.0.1" rule.
void checkReport(const collector::Received &received, quint16 port, const char *result, const QSslCertificate &leaf)
{
    CHECK(received.method == "POST");
    CHECK_WHY(received.path == "/report", QString::fromLatin1(received.path));
    CHECK_WHY(received.contentType == "application/json", QString::fromLatin1(received.contentType));
    QJsonParseError error{};
    const QJsonDocument document = QJsonDocument::fromJson(received.body, &error);
    CHECK_WHY(error.error == QJsonParseError::NoError && document.isObject(), error.errorString());
    const QJsonObject report = document.object();
    const QDateTime at = QDateTime::fromString(report.value(QStringLiteral("date-time")).toString(), Qt::ISODate);
    // The date is now, give or take a clock that is not the test's business.
    CHECK_WHY(at.isValid() && qAbs(at.secsTo(QDateTime::currentDateTimeUtc())) < 3600,
              report.value(QStringLiteral("date-time")).toString());
    CHECK(report.value(QStringLiteral("hostname")).toString() == QLatin1String("127.0.0.1"));
    CHECK(report.value(QStringLiteral("port")).toInt() == port);
    CHECK(report.value(QStringLiteral("noted-hostname")).toString() == QLatin1String("127.0.0.1"));
    CHECK(report.value(QStringLiteral("include-subdomains")).isBool());
    CHECK(!report.value(QStringLiteral("include-subdomains")).toBool());
    CHECK(report.contains(QStringLiteral("effective-expiration-date")));
    CHECK(report.value(QStringLiteral("known-pins")).isArray());
    CHECK(report.value(QStringLiteral("validated-certificate-chain")).isArray());
    CHECK_WHY(report.value(QStringLiteral("certpin-result")).toString() == QLatin1String(result),
              report.value(QStringLiteral("certpin-result")).toString());
    CHECK(!report.value(QStringLiteral("certpin-detail")).toString().isEmpty());
    // What Qt's peerCertificateChain() gave: the served leaf first.
    const QList<QSslCertificate> chain = certificatesOf(report.value(QStringLiteral("served-certificate-chain")));
    CHECK_WHY(!chain.isEmpty() && chain.first() == leaf, QString::number(chain.size()));
}

/// Causes one more violation, reported to `reports`, and waits until its
/// report has arrived. Reports leave one at a time, in the order they were
/// made: once this one is in, every report made before it is too, and a
/// report that should not have been sent would be there.
bool reportMarker(const ReportCollector &reports)
{
    const demo::World &w = world();
    const demo::Credential marker = demo::makeSelfSignedServer({QStringLiteral("report marker"), {QStringLiteral("127.0.0.1")}});
    auto server = serve(QStringLiteral("marker"), marker);
    QNetworkAccessManager manager;
    certpin::install(&manager,
                     policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), reports.uri()))));
    const Outcome o = demo::fetch(manager, demo::makeRequest(server->url()));
    CHECK_WHY(refused(o), describe(o));
    const auto isMarker = [&marker](const collector::Received &r) {
        return certificatesOf(reportOf(r).value(QStringLiteral("served-certificate-chain")))
            == QList<QSslCertificate>{marker.certificate};
    };
    const bool arrived = waitFor(
        [&] {
            for (const collector::Received &r : reports.received()) {
                if (isMarker(r))
                    return true;
            }
            return false;
        },
        10000);
    CHECK_WHY(arrived, QStringLiteral("the marker report never arrived; ") + describe(reports.received()));
    CHECK_WHY(arrived && isMarker(reports.received().last()),
              QStringLiteral("a report arrived after the marker: ") + describe(reports.received()));
    return arrived;
}

/// Whether the reporter's replies are all gone (deleted once finished).
bool reportRepliesDeleted()
{
    return waitFor(
        [] {
            const auto *manager = QCoreApplication::instance()->findChild<QNetworkAccessManager *>(
                QString::fromLatin1(certpin::detail::Reporter::kManagerName));
            return manager && manager->findChildren<QNetworkReply *>().isEmpty();
        },
        3000);
}

void reportOnlyReportedOnce()
{
    const demo::World &w = world();
    auto reports = collect();
    auto server = serve(QStringLiteral("report-only"), w.misissued);
    // The chain is valid (Qt trusts the public root too) but carries no pin.
    const QString companyPin = demo::spkiPin(w.companyRoot.certificate);
    QJsonObject rule = reporting(demo::loopbackRule({w.publicRoot.certificate}, {companyPin}), reports->uri(), true);
    rule.insert(QStringLiteral("pins_expire"), QStringLiteral("2099-12-31"));
    const certpin::Policy reportOnly = policy(demo::policyJson(rule));
    QNetworkAccessManager manager;
    QNetworkAccessManager other;
    Rejections rejections;
    certpin::install(&manager, reportOnly, rejections.forReplies());
    certpin::install(&other, reportOnly, rejections.forReplies());

    // Three identical violations, each on a new connection (so each is
    // checked in `encrypted`, and again on its headers): all go through.
    const Outcome first = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(first.succeeded() && first.body == server->body(), describe(first));
    manager.clearConnectionCache(); // idle, and outside any TLS slot
    const Outcome second = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(second.succeeded() && second.body == server->body(), describe(second));
    const Outcome third = demo::fetch(other, trustingPublicRoot(server->url()));
    CHECK_WHY(third.succeeded() && third.body == server->body(), describe(third));
    CHECK_WHY(server->connections() == 3, QString::number(server->connections()));
    CHECK(server->requests() == 3);
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());
    // What the helper saw: PIN_OK that certpin does not vouch for.
    const certpin::Verdict verdict = reportOnly.verify({w.misissued.certificate}, QStringLiteral("127.0.0.1"),
                                                       server->port());
    CHECK_WHY(verdict.ok() && !verdict.vouched()
                  && (verdict.flags & static_cast<uint32_t>(PIN_FLAG_REPORT_ONLY)) != 0
                  && verdict.message.startsWith(QLatin1String("PIN_ERR_PIN_MISMATCH")),
              verdict.message);

    CHECK(reportMarker(*reports));
    const QList<collector::Received> &received = reports->received();
    CHECK_WHY(received.size() == 2, describe(received));
    if (received.size() != 2)
        return;
    checkReport(received.first(), server->port(), "PIN_ERR_PIN_MISMATCH", w.misissued.certificate);
    const QJsonObject report = reportOf(received.first());
    CHECK_WHY(report.value(QStringLiteral("effective-expiration-date")).toString()
                  == QLatin1String("2099-12-31T23:59:59Z"),
              report.value(QStringLiteral("effective-expiration-date")).toString());
    CHECK(certificatesOf(report.value(QStringLiteral("served-certificate-chain")))
          == QList<QSslCertificate>{w.misissued.certificate});
    // The path certpin validated, leaf to anchor, and the pin it lacked.
    CHECK(certificatesOf(report.value(QStringLiteral("validated-certificate-chain")))
          == (QList<QSslCertificate>{w.misissued.certificate, w.publicRoot.certificate}));
    CHECK_WHY(report.value(QStringLiteral("known-pins")).toArray()
                  == QJsonArray{QStringLiteral("pin-sha256=\"%1\"").arg(companyPin.mid(7))},
              QString::fromUtf8(QJsonDocument(report.value(QStringLiteral("known-pins")).toArray()).toJson()));
    if (qEnvironmentVariableIsSet("CERTPIN_SHOW_REPORT"))
        std::printf("%s\n", received.first().body.constData());
}

void reportOnlyKeepsQtErrors()
{
    const demo::World &w = world();
    auto reports = collect();
    auto pinned = serve(QStringLiteral("pinned"), w.selfSigned);
    auto stranger = serve(QStringLiteral("stranger"), w.strangerSelfSigned);
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(
        &manager,
        policy(demo::policyJson(reporting(demo::loopbackRule({w.selfSigned.certificate}), reports->uri(), true))),
        rejections.forReplies());
    // The rule is in force: the pinned self-signed server is vouched for.
    const Outcome accepted = demo::fetch(manager, demo::makeRequest(pinned->url()));
    CHECK_WHY(accepted.succeeded(), describe(accepted));
    // A self-signed stranger violates the report-only rule: certpin says
    // PIN_OK without vouching, so Qt's own refusal stands.
    const Outcome s = demo::fetch(manager, demo::makeRequest(stranger->url()));
    CHECK_WHY(s.finished && s.error == QNetworkReply::SslHandshakeFailedError, describe(s));
    CHECK(receivedOnceClosed(*stranger) == 0);
    CHECK_WHY(rejections.verdicts.isEmpty(), rejections.describe());

    CHECK(reportMarker(*reports));
    const QList<collector::Received> &received = reports->received();
    CHECK_WHY(received.size() == 2, describe(received));
    if (received.size() != 2)
        return;
    checkReport(received.first(), stranger->port(), "PIN_ERR_UNTRUSTED", w.strangerSelfSigned.certificate);
    CHECK(reportOf(received.first()).value(QStringLiteral("validated-certificate-chain")).toArray().isEmpty());
}

void enforcedViolationReported()
{
    const demo::World &w = world();
    // The collector is on the very host the policy blocks, over HTTPS with a
    // certificate the policy rejects (Qt's default configuration trusts it):
    // the reports go out through a manager that pinning does not cover.
    const QSslConfiguration before = QSslConfiguration::defaultConfiguration();
    QSslConfiguration::setDefaultConfiguration(w.configurationTrustingPublicRoot());
    ReportCollector reports({w.misissued.certificate}, w.misissued.key);
    if (!reports.start())
        qFatal("cannot listen on 127.0.0.1");
    auto server = serve(QStringLiteral("mis-issued"), w.misissued);
    const certpin::Policy company =
        policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), reports.uri())));
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, company, rejections.forReplies());
    const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(refused(o) && o.error == QNetworkReply::OperationCanceledError, describe(o));
    CHECK(receivedOnceClosed(*server) == 0);
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());

    // A pinned QSslSocket reports its violations too.
    auto socketServer = serve(QStringLiteral("mis-issued (socket)"), w.misissued);
    SocketClient client(w.configurationTrustingPublicRoot());
    certpin::install(&client.socket, company, QStringLiteral("127.0.0.1"), rejections.forSocket());
    client.run(socketServer->port());
    CHECK(client.socket.state() == QAbstractSocket::UnconnectedState);
    CHECK(receivedOnceClosed(*socketServer) == 0);

    CHECK(reportMarker(reports));
    const QList<collector::Received> &received = reports.received();
    CHECK_WHY(received.size() == 3, describe(received));
    if (received.size() == 3) {
        checkReport(received.at(0), server->port(), "PIN_ERR_UNTRUSTED", w.misissued.certificate);
        checkReport(received.at(1), socketServer->port(), "PIN_ERR_UNTRUSTED", w.misissued.certificate);
        const QJsonObject report = reportOf(received.at(0));
        CHECK(report.value(QStringLiteral("effective-expiration-date")).isNull());
        CHECK(report.value(QStringLiteral("known-pins")).toArray().isEmpty());
        CHECK(report.value(QStringLiteral("validated-certificate-chain")).toArray().isEmpty());
    }
    QSslConfiguration::setDefaultConfiguration(before);
}

void noReportWithoutViolationOrUri()
{
    const demo::World &w = world();
    auto reports = collect();
    auto company = serve(QStringLiteral("company"), w.companyServer);
    auto misissued = serve(QStringLiteral("mis-issued"), w.misissued);
    Rejections rejections;

    // An accepted chain under a rule with a report_uri: nothing to report.
    QNetworkAccessManager reportingManager;
    certpin::install(
        &reportingManager,
        policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), reports->uri()))),
        rejections.forReplies());
    const Outcome accepted = demo::fetch(reportingManager, demo::makeRequest(company->url()));
    CHECK_WHY(accepted.succeeded(), describe(accepted));

    // Violations of rules without a report_uri, enforced and report-only:
    // there is no default destination.
    QNetworkAccessManager enforced;
    certpin::install(&enforced, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.forReplies());
    const Outcome refusedOne = demo::fetch(enforced, trustingPublicRoot(misissued->url()));
    CHECK_WHY(refused(refusedOne), describe(refusedOne));
    CHECK_WHY(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1, rejections.describe());
    QJsonObject quietRule = demo::loopbackRule({w.companyRoot.certificate});
    quietRule.insert(QStringLiteral("report_only"), true);
    QNetworkAccessManager quiet;
    certpin::install(&quiet, policy(demo::policyJson(quietRule)), rejections.forReplies());
    const Outcome through = demo::fetch(quiet, trustingPublicRoot(misissued->url()));
    CHECK_WHY(through.succeeded(), describe(through));

    CHECK(reportMarker(*reports));
    CHECK_WHY(reports->received().size() == 1, describe(reports->received()));
    CHECK_WHY(reportRepliesDeleted(), QStringLiteral("a finished report reply was not deleted"));
}

void reportFailuresDropped()
{
    const demo::World &w = world();
    auto failing = collect(ReportCollector::Answer::Fail);
    auto reports = collect();
    auto server = serve(QStringLiteral("mis-issued"), w.misissued);
    // A collector answering 500, twice told of the same violation.
    const certpin::Policy toFailing =
        policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), failing->uri())));
    for (int round = 0; round < 2; ++round) {
        QNetworkAccessManager manager;
        certpin::install(&manager, toFailing);
        const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
        CHECK_WHY(refused(o), describe(o));
    }
    // A report_uri nobody listens on.
    QTcpServer gone;
    CHECK(gone.listen(QHostAddress(QHostAddress::LocalHost), 0));
    const QString nowhere = QStringLiteral("http://127.0.0.1:%1/report").arg(gone.serverPort());
    gone.close();
    QNetworkAccessManager manager;
    certpin::install(&manager,
                     policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), nowhere))));
    const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
    CHECK_WHY(refused(o), describe(o));

    // Both failures are behind the marker: dropped, not retried, and the
    // reports after them still go out.
    CHECK(reportMarker(*reports));
    CHECK_WHY(reports->received().size() == 1, describe(reports->received()));
    CHECK_WHY(failing->received().size() == 1, describe(failing->received()));
    CHECK_WHY(reportRepliesDeleted(), QStringLiteral("a finished report reply was not deleted"));
}

const std::map<std::string, void (*)()> cases = {
    {"verdict-api", verdictApi},
    {"self-signed-pinned", selfSignedPinned},
    {"company-ca", companyCa},
    {"misissued-public-certificate", misissuedPublicCertificate},
    {"appended-pin-chain", appendedPinChain},
    {"reuse-after-policy-change", reuseAfterPolicyChange},
    {"reused-connection-backstop", reusedConnectionBackstop},
    {"request-in-flight-at-install", requestInFlightAtInstall},
    {"http2-siblings", http2Siblings},
    {"http2-accepted", http2Accepted},
    {"http2-reused-connection-backstop", http2ReusedConnectionBackstop},
    {"unlisted-hosts-allowed", unlistedHostsAllowed},
    {"host-name-errors", hostNameErrorsNeedCertpinsNameCheck},
    {"international-host-name", internationalHostName},
    {"redirect", redirectToAnotherServer},
    {"disk-cache", diskCacheLeftAlone},
    {"broken-policy-fails-closed", brokenPolicyFailsClosed},
    {"configuration-untouched", configurationUntouched},
    {"ssl-socket", sslSocket},
    {"report-only-reported-once", reportOnlyReportedOnce},
    {"report-only-keeps-qt-errors", reportOnlyKeepsQtErrors},
    {"enforced-violation-reported", enforcedViolationReported},
    {"no-report-without-violation-or-uri", noReportWithoutViolationOrUri},
    {"report-failures-dropped", reportFailuresDropped},
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const std::string name = argc > 1 ? argv[1] : "";
    if (name == "--list") {
        for (const auto &c : cases)
            std::printf("%s\n", c.first.c_str());
        return 0;
    }
    std::vector<std::string> run;
    if (name.empty() || name == "--all") {
        for (const auto &c : cases)
            run.push_back(c.first);
    } else if (cases.count(name)) {
        run.push_back(name);
    } else {
        std::fprintf(stderr, "unknown case '%s' (see --list)\n", name.c_str());
        return 2;
    }
    for (const std::string &c : run) {
        const int before = failures;
        cases.at(c)();
        std::printf("%s %s (Qt %s)\n", failures == before ? "ok  " : "FAIL", c.c_str(), qVersion());
    }
    return failures == 0 ? 0 : 1;
}
