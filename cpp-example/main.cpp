// certpin-demo: what Qt alone does and what Qt with certpin does, side by side.
//
//     certpin-demo                      runs every scenario against TLS servers on
//                                       127.0.0.1 in this process; exits 0 only when
//                                       every outcome is the expected one
//     certpin-demo --policy FILE URL    fetches URL under the policy in FILE and
//                                       prints certpin's verdict
//
// Built with Qt WebSockets, it also shows a QWebSocket (wss rows, timing).
#include "certpin_qt.hpp"

#include "demo_world.hpp"
#include "fetch.hpp"
#include "loopback_server.hpp"

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QStringList>
#include <QtNetwork/QSslSocket>
#if defined(QT_WEBSOCKETS_LIB)
#include <QtCore/QEventLoop>
#include <QtCore/QTimer>
#include <QtWebSockets/QWebSocket>
#endif

#include <algorithm>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <functional>
#include <memory>
#include <vector>

using demo::LoopbackServer;
using demo::Outcome;

namespace {

/// One side of a scenario: what the application saw and what the server got.
struct Run {
    Outcome outcome;
    qint64 bytes = 0;
    /// certpin's verdict ("" for Qt alone).
    QString verdict;
};

/// What a scenario must show.
struct Expectation {
    bool qtConnects;
    /// The result certpin must give; for a rejection the server must also
    /// have received no request byte.
    pin_result certpin;
};

struct Row {
    QString scenario;
    Run qtAlone;
    Run withCertpin;
    Expectation expected;
    QString detail;

    /// HTTP 200, or for a WebSocket the upgrade (101).
    static bool connected(const Run &run)
    {
        const Outcome &o = run.outcome;
        return o.succeeded() || (o.finished && o.error == QNetworkReply::NoError && o.httpStatus == 101);
    }

    bool asExpected() const
    {
        const bool qtOk = connected(qtAlone) == expected.qtConnects;
        if (expected.certpin == PIN_OK)
            return qtOk && connected(withCertpin) && withCertpin.verdict == QLatin1String("PIN_OK");
        return qtOk && withCertpin.outcome.finished && !connected(withCertpin)
            && !withCertpin.outcome.bodySeen && withCertpin.bytes == 0
            && withCertpin.verdict == QString::fromLatin1(pin_result_name(static_cast<int>(expected.certpin)));
    }
};

std::unique_ptr<LoopbackServer> serve(const QString &name, const QList<QSslCertificate> &chain, const QSslKey &key)
{
    auto server = std::make_unique<LoopbackServer>(name, chain, key);
    if (!server->start())
        throw std::runtime_error("cannot listen on 127.0.0.1");
    return server;
}

/// What `server` received, once every connection to it has closed (bounded).
qint64 settledBytes(const LoopbackServer &server)
{
    QElapsedTimer clock;
    clock.start();
    while (server.openConnections() > 0 && clock.elapsed() < 3000)
        demo::spin(10);
    return server.bytesReceived();
}

QNetworkRequest requestWith(const QString &url, const QSslConfiguration *configuration)
{
    QNetworkRequest request = demo::makeRequest(url);
    if (configuration)
        request.setSslConfiguration(*configuration);
    return request;
}

Run qtAlone(LoopbackServer &server, const QSslConfiguration *configuration)
{
    server.resetCounts();
    Run run;
    {
        QNetworkAccessManager manager;
        run.outcome = demo::fetch(manager, requestWith(server.url(), configuration));
    }
    run.bytes = settledBytes(server);
    return run;
}

/// A manager with certpin installed, remembering the verdict of the last rejection.
struct PinnedManager {
    QNetworkAccessManager manager;
    QString lastRejection;
    QString detail;

    void install(const certpin::Policy &policy)
    {
        certpin::install(&manager, policy, [this](QNetworkReply *, const certpin::Verdict &v) {
            lastRejection = v.resultName();
            detail = v.message;
        });
    }
};

Run withCertpin(LoopbackServer &server, const certpin::Policy &policy, const QSslConfiguration *configuration,
                QString *detail)
{
    server.resetCounts();
    Run run;
    {
        PinnedManager pinned;
        pinned.install(policy);
        run.outcome = demo::fetch(pinned.manager, requestWith(server.url(), configuration));
        run.verdict = pinned.lastRejection.isEmpty() ? QStringLiteral("PIN_OK") : pinned.lastRejection;
        *detail = pinned.detail;
    }
    run.bytes = settledBytes(server);
    return run;
}

certpin::Policy loadJson(const QByteArray &json)
{
    QString error;
    certpin::Policy policy = certpin::Policy::fromJson(json, &error);
    if (!policy.isValid())
        throw std::runtime_error(error.toStdString());
    return policy;
}

#if defined(QT_WEBSOCKETS_LIB)
/// Opens a QWebSocket to `server` (the upgrade request carries a bearer
/// token), pinned to `policy` when one is given, and waits (at most 10 s)
/// for the upgrade or the end. The outcome reads as a request's: HTTP 101
/// when the WebSocket opened.
Run webSocketRun(LoopbackServer &server, const QSslConfiguration *configuration, const certpin::Policy *policy,
                 QString *detail = nullptr)
{
    server.resetCounts();
    Run run;
    {
        QWebSocket socket;
        if (configuration)
            socket.setSslConfiguration(*configuration);
        QString rejection;
        if (policy) {
            certpin::install(&socket, *policy, [&rejection, detail](const certpin::Verdict &v) {
                rejection = v.resultName();
                if (detail)
                    *detail = v.message;
            });
        }
        QAbstractSocket::SocketError error = QAbstractSocket::UnknownSocketError;
        bool failed = false;
        QEventLoop loop;
        QObject::connect(&socket, &QWebSocket::connected, &loop, &QEventLoop::quit);
        QObject::connect(&socket, &QWebSocket::disconnected, &loop, &QEventLoop::quit);
        const auto onError = [&](QAbstractSocket::SocketError e) {
            error = e;
            failed = true;
            loop.quit();
        };
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
        QObject::connect(&socket, &QWebSocket::errorOccurred, &loop, onError);
#else
        QObject::connect(&socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), &loop, onError);
#endif
        QTimer bound;
        bound.setSingleShot(true);
        QObject::connect(&bound, &QTimer::timeout, &loop, &QEventLoop::quit);
        QElapsedTimer clock;
        clock.start();
        QNetworkRequest request{QUrl(QStringLiteral("wss://127.0.0.1:%1/live").arg(server.port()))};
        request.setRawHeader("Authorization", "Bearer not-for-the-rogue");
        socket.open(request);
        bound.start(10000);
        loop.exec();
        run.outcome.elapsedMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
        const bool open = socket.state() == QAbstractSocket::ConnectedState;
        run.outcome.finished = open || failed || socket.state() == QAbstractSocket::UnconnectedState;
        if (open) {
            run.outcome.httpStatus = 101;
        } else if (!rejection.isEmpty()) {
            run.outcome.error = QNetworkReply::OperationCanceledError;
        } else if (error == QAbstractSocket::SslHandshakeFailedError) {
            run.outcome.error = QNetworkReply::SslHandshakeFailedError;
        } else {
            run.outcome.error = QNetworkReply::UnknownNetworkError;
            run.outcome.errorString = socket.errorString();
        }
        if (policy)
            run.verdict = rejection.isEmpty() ? QStringLiteral("PIN_OK") : rejection;
        socket.abort();
    }
    run.bytes = settledBytes(server);
    return run;
}

/// The wss rows: a rogue server Qt trusts, and the company's server.
void addWebSocketRows(const demo::World &w, std::vector<Row> &rows)
{
    const QSslConfiguration trustsPublicRoot = w.configurationTrustingPublicRoot();
    const certpin::Policy company = loadJson(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate})));
    {
        auto server = serve(QStringLiteral("wss mis-issued"), {w.misissued.certificate}, w.misissued.key);
        Row row{QStringLiteral("wss mis-issued public certificate"), {}, {}, {true, PIN_ERR_UNTRUSTED}, {}};
        row.qtAlone = webSocketRun(*server, &trustsPublicRoot, nullptr);
        row.withCertpin = webSocketRun(*server, &trustsPublicRoot, &company, &row.detail);
        rows.push_back(row);
    }
    {
        auto server = serve(QStringLiteral("wss company"), {w.companyServer.certificate}, w.companyServer.key);
        Row row{QStringLiteral("wss company CA server"), {}, {}, {false, PIN_OK}, {}};
        row.qtAlone = webSocketRun(*server, nullptr, nullptr);
        row.withCertpin = webSocketRun(*server, nullptr, &company, &row.detail);
        rows.push_back(row);
    }
}
#endif

std::vector<Row> runScenarios(const demo::World &w)
{
    std::vector<Row> rows;
    const QSslConfiguration trustsPublicRoot = w.configurationTrustingPublicRoot();

    {
        auto server = serve(QStringLiteral("pinned"), {w.selfSigned.certificate}, w.selfSigned.key);
        Row row{QStringLiteral("pinned self-signed server"), {}, {}, {false, PIN_OK}, {}};
        row.qtAlone = qtAlone(*server, nullptr);
        row.withCertpin = withCertpin(*server, certpin::Policy::fromPem(w.selfSigned.pem()), nullptr, &row.detail);
        rows.push_back(row);
    }
    {
        auto server = serve(QStringLiteral("company"), {w.companyServer.certificate}, w.companyServer.key);
        Row row{QStringLiteral("company CA server"), {}, {}, {false, PIN_OK}, {}};
        row.qtAlone = qtAlone(*server, nullptr);
        row.withCertpin = withCertpin(
            *server, loadJson(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))), nullptr,
            &row.detail);
        rows.push_back(row);
    }
    {
        auto server = serve(QStringLiteral("mis-issued"), {w.misissued.certificate}, w.misissued.key);
        Row row{QStringLiteral("mis-issued public certificate"), {}, {}, {true, PIN_ERR_UNTRUSTED}, {}};
        row.qtAlone = qtAlone(*server, &trustsPublicRoot);
        row.withCertpin = withCertpin(
            *server, loadJson(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
            &trustsPublicRoot, &row.detail);
        rows.push_back(row);
    }
    {
        auto server = serve(QStringLiteral("CVE-2016-2402"), w.appendedPinChain(), w.misissued.key);
        Row row{QStringLiteral("CVE-2016-2402 appended pinned CA"), {}, {}, {true, PIN_ERR_PIN_MISMATCH}, {}};
        row.qtAlone = qtAlone(*server, &trustsPublicRoot);
        row.withCertpin = withCertpin(
            *server,
            loadJson(demo::policyJson(demo::loopbackRule(
                {w.publicRoot.certificate}, {demo::spkiPin(w.pinnedIntermediate.certificate)}))),
            &trustsPublicRoot, &row.detail);
        rows.push_back(row);
    }
    {
        // The application first trusts the public root, then changes its
        // mind and trusts only its company CA. Qt alone: the request carries
        // the new QSslConfiguration, but the cached connection is reused and
        // the new settings are never looked at.
        auto server = serve(QStringLiteral("reused"), {w.misissued.certificate}, w.misissued.key);
        Row row{QStringLiteral("reused connection, policy changed"), {}, {}, {true, PIN_ERR_UNTRUSTED}, {}};
        QSslConfiguration companyOnly = QSslConfiguration::defaultConfiguration();
        companyOnly.setCaCertificates({w.companyRoot.certificate});
        {
            QNetworkAccessManager manager;
            demo::fetch(manager, requestWith(server->url(), &trustsPublicRoot));
            server->resetCounts();
            row.qtAlone.outcome = demo::fetch(manager, requestWith(server->url(), &companyOnly));
            row.qtAlone.bytes = server->bytesReceived();
        }
        settledBytes(*server);
        {
            PinnedManager pinned;
            pinned.install(loadJson(demo::policyJson(demo::loopbackRule({w.publicRoot.certificate}))));
            demo::fetch(pinned.manager, requestWith(server->url(), &trustsPublicRoot));
            pinned.install(loadJson(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))));
            server->resetCounts();
            row.withCertpin.outcome = demo::fetch(pinned.manager, requestWith(server->url(), &companyOnly));
            row.withCertpin.verdict =
                pinned.lastRejection.isEmpty() ? QStringLiteral("PIN_OK") : pinned.lastRejection;
            row.detail = pinned.detail;
        }
        row.withCertpin.bytes = settledBytes(*server);
        rows.push_back(row);
    }
#if defined(QT_WEBSOCKETS_LIB)
    addWebSocketRows(w, rows);
#endif
    return rows;
}

double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/// Median milliseconds per request on a new HTTPS connection, with and
/// without certpin, alternating so that both see the same machine load.
void printTiming(const demo::World &w)
{
    auto server = serve(QStringLiteral("timing"), {w.companyServer.certificate}, w.companyServer.key);
    QSslConfiguration trustsCompany = QSslConfiguration::defaultConfiguration();
    trustsCompany.setCaCertificates({w.companyRoot.certificate});
    const certpin::Policy policy = loadJson(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate})));
    QNetworkAccessManager plain;
    QNetworkAccessManager pinned;
    certpin::install(&pinned, policy);
    std::vector<double> without, with;
    const int rounds = 15;
    for (int i = 0; i < rounds; ++i) {
        for (QNetworkAccessManager *manager : {&plain, &pinned}) {
            QNetworkRequest request = requestWith(server->url(), &trustsCompany);
            request.setRawHeader("Connection", "close"); // a new connection each time
            const Outcome o = demo::fetch(*manager, request);
            if (o.succeeded())
                (manager == &plain ? without : with).push_back(o.elapsedMs);
        }
    }
    // certpin's own share: one verification, first and from its cache.
    const QList<QSslCertificate> chain{w.companyServer.certificate};
    const certpin::Policy uncached = loadJson(
        "{\"version\": 1, \"cache_size\": 0, \"rules\": [" +
        QJsonDocument(demo::loopbackRule({w.companyRoot.certificate})).toJson(QJsonDocument::Compact) + "]}");
    std::vector<double> fresh, cached;
    for (int i = 0; i < 200; ++i) {
        QElapsedTimer clock;
        clock.start();
        uncached.verify(chain, QStringLiteral("127.0.0.1"));
        fresh.push_back(static_cast<double>(clock.nsecsElapsed()) / 1e3);
        clock.restart();
        policy.verify(chain, QStringLiteral("127.0.0.1"));
        cached.push_back(static_cast<double>(clock.nsecsElapsed()) / 1e3);
    }
    std::printf("\nTiming (reported, not asserted): median of %d requests, each on a new HTTPS connection\n", rounds);
    std::printf("  Qt alone (CA in QSslConfiguration)  %7.2f ms  (%zu ok)\n", median(without), without.size());
    std::printf("  Qt + certpin                        %7.2f ms  (%zu ok)\n", median(with), with.size());
#if defined(QT_WEBSOCKETS_LIB)
    // A QWebSocket open: TCP, the TLS handshake and the upgrade, alternating too.
    std::vector<double> wsWithout, wsWith;
    for (int i = 0; i < rounds; ++i) {
        const Run plainRun = webSocketRun(*server, &trustsCompany, nullptr);
        if (Row::connected(plainRun))
            wsWithout.push_back(plainRun.outcome.elapsedMs);
        const Run pinnedRun = webSocketRun(*server, nullptr, &policy);
        if (Row::connected(pinnedRun))
            wsWith.push_back(pinnedRun.outcome.elapsedMs);
    }
    std::printf("median of %d QWebSocket opens (TLS handshake and upgrade), each on a new connection\n", rounds);
    std::printf("  Qt alone (CA in QSslConfiguration)  %7.2f ms  (%zu ok)\n", median(wsWithout), wsWithout.size());
    std::printf("  Qt + certpin                        %7.2f ms  (%zu ok)\n", median(wsWith), wsWith.size());
#endif
    std::printf("  certpin verification alone          %7.1f us, %.1f us from its cache (median of 200)\n",
                median(fresh), median(cached));
}

QString cell(const Run &run)
{
    return run.outcome.summary();
}

int runDemo()
{
    const demo::World w = demo::World::make();
    const std::vector<Row> rows = runScenarios(w);

    std::printf("certpin-demo: Qt %s, certpin %s; servers on 127.0.0.1, certificates made at start-up\n\n",
                qVersion(), pin_version());
    const char *format = "%-34s %-31s %5s  %-31s %5s  %-21s %s\n";
    std::printf(format, "scenario", "Qt alone", "bytes", "Qt + certpin", "bytes", "certpin verdict", "");
    const QByteArray rule(34 + 1 + 31 + 1 + 5 + 2 + 31 + 1 + 5 + 2 + 21 + 1 + 11, '-');
    std::printf("%s\n", rule.constData());
    bool all = true;
    for (const Row &row : rows) {
        const bool ok = row.asExpected();
        all = all && ok;
        std::printf(format, qPrintable(row.scenario), qPrintable(cell(row.qtAlone)),
                    qPrintable(QString::number(row.qtAlone.bytes)), qPrintable(cell(row.withCertpin)),
                    qPrintable(QString::number(row.withCertpin.bytes)), qPrintable(row.withCertpin.verdict),
                    ok ? "as expected" : "UNEXPECTED");
    }
    std::printf("\n(bytes: request bytes the server received after the TLS handshake; for wss, the upgrade "
                "request and what followed it)\n");
    for (const Row &row : rows) {
        if (!row.detail.isEmpty())
            std::printf("\n%s:\n  %s\n", qPrintable(row.scenario),
                        qPrintable(QString(row.detail).replace(QLatin1Char('\n'), QStringLiteral("\n  "))));
    }
    printTiming(w);
    std::printf("\n%s\n", all ? "certpin-demo: every outcome is the expected one"
                              : "certpin-demo: SOME OUTCOMES ARE NOT THE EXPECTED ONES");
    return all ? 0 : 1;
}

QString describeFlags(uint32_t flags)
{
    QStringList names;
    if (flags & PIN_FLAG_VOUCHED)
        names << QStringLiteral("vouched");
    if (flags & PIN_FLAG_NAME_VERIFIED)
        names << QStringLiteral("name verified");
    if (flags & PIN_FLAG_UNLISTED)
        names << QStringLiteral("unlisted host allowed");
    if (flags & PIN_FLAG_REPORT_ONLY)
        names << QStringLiteral("report-only violation");
    if (flags & PIN_FLAG_CACHED)
        names << QStringLiteral("cached");
    return names.join(QStringLiteral(", "));
}

int fetchUnderPolicy(const QString &file, const QString &url)
{
    QString error;
    const certpin::Policy policy = certpin::Policy::fromFile(file, &error);
    if (!policy.isValid()) {
        std::fprintf(stderr, "certpin-demo: %s\n", qPrintable(error));
        return 2;
    }
    QNetworkAccessManager manager;
    certpin::Verdict rejection;
    bool rejected = false;
    certpin::install(&manager, policy, [&](QNetworkReply *, const certpin::Verdict &v) {
        if (!rejected)
            rejection = v;
        rejected = true;
    });
    certpin::Verdict accepted;
    bool checked = false;
    QObject::connect(&manager, &QNetworkAccessManager::encrypted, &manager, [&](QNetworkReply *reply) {
        accepted = policy.verify(reply->sslConfiguration().peerCertificateChain(), reply->url().host(QUrl::FullyEncoded),
                                 static_cast<quint16>(reply->url().port(443)));
        checked = true;
    });
    const Outcome o = demo::fetch(manager, demo::makeRequest(url, true), 30000);
    std::printf("URL:     %s\n", qPrintable(url));
    if (rejected) {
        std::printf("certpin: %s\n", qPrintable(rejection.message));
    } else if (checked) {
        const QString flags = describeFlags(accepted.flags);
        std::printf("certpin: %s%s%s\n", qPrintable(accepted.resultName()), flags.isEmpty() ? "" : " - ",
                    qPrintable(flags));
        if (!accepted.message.isEmpty())
            std::printf("         %s\n", qPrintable(accepted.message));
    } else {
        std::printf("certpin: no TLS connection was checked\n");
    }
    std::printf("Qt:      %s", qPrintable(o.summary()));
    if (o.succeeded())
        std::printf(", %d bytes", static_cast<int>(o.body.size()));
    std::printf("\n");
    return o.succeeded() ? 0 : 1;
}

void usage(FILE *to)
{
    std::fprintf(to, "usage: certpin-demo                    run the scenarios on 127.0.0.1\n"
                     "       certpin-demo --policy FILE URL  fetch URL under the policy in FILE\n");
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    try {
        if (args.isEmpty())
            return runDemo();
        if (args.size() == 3 && args.at(0) == QLatin1String("--policy"))
            return fetchUnderPolicy(args.at(1), args.at(2));
        if (args.size() == 1 && (args.at(0) == QLatin1String("--help") || args.at(0) == QLatin1String("-h"))) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "certpin-demo: %s\n", e.what());
        return 2;
    }
}
