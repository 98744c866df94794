// Violation reports (a rule's report_uri), received by a collector on
// 127.0.0.1 inside the test process: what a report says, that each
// violation is reported once, and that a report that should not be sent is
// not.
//
//     certpin-qt-reports [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"
#include "report_collector.hpp"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtNetwork/QTcpServer>

#include <cstdio>

using collector::ReportCollector;

namespace {

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

// Beside describe(const Outcome &).
using ::describe;
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
/// "127.0.0.1" rule. (A failure here fails the test: the caller returns on
/// QTest::currentTestFailed().)
void checkReport(const collector::Received &received, quint16 port, const char *result, const QSslCertificate &leaf)
{
    QVERIFY(received.method == "POST");
    QVERIFY2(received.path == "/report", received.path.constData());
    QVERIFY2(received.contentType == "application/json", received.contentType.constData());
    QJsonParseError error{};
    const QJsonDocument document = QJsonDocument::fromJson(received.body, &error);
    QVERIFY2(error.error == QJsonParseError::NoError && document.isObject(), qPrintable(error.errorString()));
    const QJsonObject report = document.object();
    const QDateTime at = QDateTime::fromString(report.value(QStringLiteral("date-time")).toString(), Qt::ISODate);
    // The date is now, give or take a clock that is not the test's business.
    QVERIFY2(at.isValid() && qAbs(at.secsTo(QDateTime::currentDateTimeUtc())) < 3600,
             qPrintable(report.value(QStringLiteral("date-time")).toString()));
    QCOMPARE(report.value(QStringLiteral("hostname")).toString(), QStringLiteral("127.0.0.1"));
    QCOMPARE(report.value(QStringLiteral("port")).toInt(), int(port));
    QCOMPARE(report.value(QStringLiteral("noted-hostname")).toString(), QStringLiteral("127.0.0.1"));
    QVERIFY(report.value(QStringLiteral("include-subdomains")).isBool());
    QVERIFY(!report.value(QStringLiteral("include-subdomains")).toBool());
    QVERIFY(report.contains(QStringLiteral("effective-expiration-date")));
    QVERIFY(report.value(QStringLiteral("known-pins")).isArray());
    QVERIFY(report.value(QStringLiteral("validated-certificate-chain")).isArray());
    QCOMPARE(report.value(QStringLiteral("certpin-result")).toString(), QString::fromLatin1(result));
    QVERIFY(!report.value(QStringLiteral("certpin-detail")).toString().isEmpty());
    // What Qt's peerCertificateChain() gave: the served leaf first.
    const QList<QSslCertificate> chain = certificatesOf(report.value(QStringLiteral("served-certificate-chain")));
    QVERIFY2(!chain.isEmpty() && chain.first() == leaf, qPrintable(QString::number(chain.size())));
}

/// Causes one more violation, reported to `reports`, and waits until its
/// report has arrived. Reports leave one at a time, in the order they were
/// made: once this one is in, every report made before it is too, and a
/// report that should not have been sent would be there. (The caller
/// returns on QTest::currentTestFailed().)
void reportMarker(const ReportCollector &reports)
{
    const demo::World &w = world();
    const demo::Credential marker =
        demo::makeSelfSignedServer({QStringLiteral("report marker"), {QStringLiteral("127.0.0.1")}});
    auto server = serve(QStringLiteral("marker"), marker);
    QNetworkAccessManager manager;
    certpin::install(&manager,
                     policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), reports.uri()))));
    const Outcome o = demo::fetch(manager, demo::makeRequest(server->url()));
    QVERIFY2(refused(o), qPrintable(describe(o)));
    const auto isMarker = [&marker](const collector::Received &r) {
        return certificatesOf(reportOf(r).value(QStringLiteral("served-certificate-chain")))
            == QList<QSslCertificate>{marker.certificate};
    };
    const auto arrived = [&] {
        for (const collector::Received &r : reports.received()) {
            if (isMarker(r))
                return true;
        }
        return false;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(arrived(),
                              qPrintable(QStringLiteral("the marker report never arrived; ")
                                         + describe(reports.received())),
                              10000);
    QVERIFY2(isMarker(reports.received().last()),
             qPrintable(QStringLiteral("a report arrived after the marker: ") + describe(reports.received())));
}

/// Whether the reporter's replies are all gone (deleted once finished).
bool reportRepliesDeleted()
{
    const auto *manager = QCoreApplication::instance()->findChild<QNetworkAccessManager *>(
        QString::fromLatin1(certpin::detail::Reporter::kManagerName));
    return manager && manager->findChildren<QNetworkReply *>().isEmpty();
}

/// Qt's default TLS configuration, put back when the test ends, however it ends.
struct DefaultConfigurationRestorer {
    const QSslConfiguration before = QSslConfiguration::defaultConfiguration();
    ~DefaultConfigurationRestorer() { QSslConfiguration::setDefaultConfiguration(before); }
};

} // namespace

class Reports : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)world(); }

    void reportOnlyReportedOnce();
    void reportOnlyKeepsQtErrors();
    void enforcedViolationReported();
    void noReportWithoutViolationOrUri();
    void reportFailuresDropped();
};

void Reports::reportOnlyReportedOnce()
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
    certpin::install(&manager, reportOnly, rejections.handler());
    certpin::install(&other, reportOnly, rejections.handler());

    // Three identical violations, each on a new connection (so each is
    // checked in `encrypted`, and again on its headers): all go through.
    const Outcome first = demo::fetch(manager, trustingPublicRoot(server->url()));
    QVERIFY2(first.succeeded() && first.body == server->body(), qPrintable(describe(first)));
    manager.clearConnectionCache(); // idle, and outside any TLS slot
    const Outcome second = demo::fetch(manager, trustingPublicRoot(server->url()));
    QVERIFY2(second.succeeded() && second.body == server->body(), qPrintable(describe(second)));
    const Outcome third = demo::fetch(other, trustingPublicRoot(server->url()));
    QVERIFY2(third.succeeded() && third.body == server->body(), qPrintable(describe(third)));
    QCOMPARE(server->connections(), 3);
    QCOMPARE(server->requests(), 3);
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));
    // What the helper saw: PIN_OK that certpin does not vouch for.
    const certpin::Verdict verdict = reportOnly.verify({w.misissued.certificate}, QStringLiteral("127.0.0.1"),
                                                       server->port());
    QVERIFY2(verdict.ok() && !verdict.vouched() && (verdict.flags & static_cast<uint32_t>(PIN_FLAG_REPORT_ONLY)) != 0
                 && verdict.message.startsWith(QLatin1String("PIN_ERR_PIN_MISMATCH")),
             qPrintable(verdict.message));

    reportMarker(*reports);
    if (QTest::currentTestFailed())
        return;
    const QList<collector::Received> &received = reports->received();
    QVERIFY2(received.size() == 2, qPrintable(describe(received)));
    checkReport(received.first(), server->port(), "PIN_ERR_PIN_MISMATCH", w.misissued.certificate);
    if (QTest::currentTestFailed())
        return;
    const QJsonObject report = reportOf(received.first());
    QCOMPARE(report.value(QStringLiteral("effective-expiration-date")).toString(),
             QStringLiteral("2099-12-31T23:59:59Z"));
    QVERIFY(certificatesOf(report.value(QStringLiteral("served-certificate-chain")))
            == QList<QSslCertificate>{w.misissued.certificate});
    // The path certpin validated, leaf to anchor, and the pin it lacked.
    QVERIFY(certificatesOf(report.value(QStringLiteral("validated-certificate-chain")))
            == (QList<QSslCertificate>{w.misissued.certificate, w.publicRoot.certificate}));
    QVERIFY2(report.value(QStringLiteral("known-pins")).toArray()
                 == QJsonArray{QStringLiteral("pin-sha256=\"%1\"").arg(companyPin.mid(7))},
             QJsonDocument(report.value(QStringLiteral("known-pins")).toArray()).toJson().constData());
    if (qEnvironmentVariableIsSet("CERTPIN_SHOW_REPORT"))
        std::printf("%s\n", received.first().body.constData());
}

void Reports::reportOnlyKeepsQtErrors()
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
        rejections.handler());
    // The rule is in force: the pinned self-signed server is vouched for.
    const Outcome accepted = demo::fetch(manager, demo::makeRequest(pinned->url()));
    QVERIFY2(accepted.succeeded(), qPrintable(describe(accepted)));
    // A self-signed stranger violates the report-only rule: certpin says
    // PIN_OK without vouching, so Qt's own refusal stands.
    const Outcome s = demo::fetch(manager, demo::makeRequest(stranger->url()));
    QVERIFY2(s.finished && s.error == QNetworkReply::SslHandshakeFailedError, qPrintable(describe(s)));
    VERIFY_NOTHING_RECEIVED(*stranger);
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));

    reportMarker(*reports);
    if (QTest::currentTestFailed())
        return;
    const QList<collector::Received> &received = reports->received();
    QVERIFY2(received.size() == 2, qPrintable(describe(received)));
    checkReport(received.first(), stranger->port(), "PIN_ERR_UNTRUSTED", w.strangerSelfSigned.certificate);
    if (QTest::currentTestFailed())
        return;
    QVERIFY(reportOf(received.first()).value(QStringLiteral("validated-certificate-chain")).toArray().isEmpty());
}

void Reports::enforcedViolationReported()
{
    const demo::World &w = world();
    // The collector is on the very host the policy blocks, over HTTPS with a
    // certificate the policy rejects (Qt's default configuration trusts it):
    // the reports go out through a manager that pinning does not cover.
    const DefaultConfigurationRestorer restorer;
    QSslConfiguration::setDefaultConfiguration(w.configurationTrustingPublicRoot());
    ReportCollector reports({w.misissued.certificate}, w.misissued.key);
    if (!reports.start())
        qFatal("cannot listen on 127.0.0.1");
    auto server = serve(QStringLiteral("mis-issued"), w.misissued);
    const certpin::Policy company =
        policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), reports.uri())));
    QNetworkAccessManager manager;
    Rejections rejections;
    certpin::install(&manager, company, rejections.handler());
    const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
    QVERIFY2(refused(o) && o.error == QNetworkReply::OperationCanceledError, qPrintable(describe(o)));
    VERIFY_NOTHING_RECEIVED(*server);
    QVERIFY2(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));

    // A pinned QSslSocket reports its violations too.
    auto socketServer = serve(QStringLiteral("mis-issued (socket)"), w.misissued);
    RequestingSocket client(w.configurationTrustingPublicRoot());
    certpin::install(&client.socket, company, QStringLiteral("127.0.0.1"), rejections.socketHandler());
    client.run(socketServer->port());
    QVERIFY(client.socket.state() == QAbstractSocket::UnconnectedState);
    VERIFY_NOTHING_RECEIVED(*socketServer);

    reportMarker(reports);
    if (QTest::currentTestFailed())
        return;
    const QList<collector::Received> &received = reports.received();
    QVERIFY2(received.size() == 3, qPrintable(describe(received)));
    checkReport(received.at(0), server->port(), "PIN_ERR_UNTRUSTED", w.misissued.certificate);
    if (QTest::currentTestFailed())
        return;
    checkReport(received.at(1), socketServer->port(), "PIN_ERR_UNTRUSTED", w.misissued.certificate);
    if (QTest::currentTestFailed())
        return;
    const QJsonObject report = reportOf(received.at(0));
    QVERIFY(report.value(QStringLiteral("effective-expiration-date")).isNull());
    QVERIFY(report.value(QStringLiteral("known-pins")).toArray().isEmpty());
    QVERIFY(report.value(QStringLiteral("validated-certificate-chain")).toArray().isEmpty());
}

void Reports::noReportWithoutViolationOrUri()
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
        rejections.handler());
    const Outcome accepted = demo::fetch(reportingManager, demo::makeRequest(company->url()));
    QVERIFY2(accepted.succeeded(), qPrintable(describe(accepted)));

    // Violations of rules without a report_uri, enforced and report-only:
    // there is no default destination.
    QNetworkAccessManager enforced;
    certpin::install(&enforced, policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}))),
                     rejections.handler());
    const Outcome refusedOne = demo::fetch(enforced, trustingPublicRoot(misissued->url()));
    QVERIFY2(refused(refusedOne), qPrintable(describe(refusedOne)));
    QVERIFY2(rejections.onlyOf(PIN_ERR_UNTRUSTED) && rejections.verdicts.size() == 1,
             qPrintable(rejections.describe()));
    QJsonObject quietRule = demo::loopbackRule({w.companyRoot.certificate});
    quietRule.insert(QStringLiteral("report_only"), true);
    QNetworkAccessManager quiet;
    certpin::install(&quiet, policy(demo::policyJson(quietRule)), rejections.handler());
    const Outcome through = demo::fetch(quiet, trustingPublicRoot(misissued->url()));
    QVERIFY2(through.succeeded(), qPrintable(describe(through)));

    reportMarker(*reports);
    if (QTest::currentTestFailed())
        return;
    QVERIFY2(reports->received().size() == 1, qPrintable(describe(reports->received())));
    QTRY_VERIFY2_WITH_TIMEOUT(reportRepliesDeleted(), "a finished report reply was not deleted", 3000);
}

void Reports::reportFailuresDropped()
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
        QVERIFY2(refused(o), qPrintable(QStringLiteral("round %1: ").arg(round) + describe(o)));
    }
    // A report_uri nobody listens on.
    QTcpServer gone;
    QVERIFY(gone.listen(QHostAddress(QHostAddress::LocalHost), 0));
    const QString nowhere = QStringLiteral("http://127.0.0.1:%1/report").arg(gone.serverPort());
    gone.close();
    QNetworkAccessManager manager;
    certpin::install(&manager,
                     policy(demo::policyJson(reporting(demo::loopbackRule({w.companyRoot.certificate}), nowhere))));
    const Outcome o = demo::fetch(manager, trustingPublicRoot(server->url()));
    QVERIFY2(refused(o), qPrintable(describe(o)));

    // Both failures are behind the marker: dropped, not retried, and the
    // reports after them still go out.
    reportMarker(*reports);
    if (QTest::currentTestFailed())
        return;
    QVERIFY2(reports->received().size() == 1, qPrintable(describe(reports->received())));
    QVERIFY2(failing->received().size() == 1, qPrintable(describe(failing->received())));
    QTRY_VERIFY2_WITH_TIMEOUT(reportRepliesDeleted(), "a finished report reply was not deleted", 3000);
}

QTEST_GUILESS_MAIN(Reports)
#include "tst_reports.moc"
