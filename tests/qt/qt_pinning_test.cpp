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

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkDiskCache>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QSslSocket>

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
    certpin::install(&accepted.socket, pinned, QStringLiteral("127.0.0.1"), rejections.forSocket());
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
