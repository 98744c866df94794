// The Verdict and Policy API, without a connection: what verify() says of a
// chain, and the errors of policies that cannot be read.
//
//     certpin-qt-verdict [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

class VerdictApi : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)world(); }

    void invalidPolicy();
    void verify();
    void brokenJson();
    void unreadableFile_data();
    void unreadableFile();
    void qrcScheme();
    void fromPem();
};

void VerdictApi::invalidPolicy()
{
    certpin::Policy none;
    QVERIFY(!none.isValid());
    const certpin::Verdict empty = none.verify({world().companyServer.certificate}, QStringLiteral("127.0.0.1"));
    QVERIFY(!empty.ok());
}

void VerdictApi::verify()
{
    const demo::World &w = world();
    const certpin::Policy company = policy(demo::policyJson(demo::loopbackRule({w.companyRoot.certificate})));
    QVERIFY(company.isValid());
    const certpin::Verdict ok = company.verify({w.companyServer.certificate}, QStringLiteral("127.0.0.1"), 443);
    QVERIFY2(ok.ok() && ok.vouched() && ok.nameVerified(), qPrintable(ok.message));
    QVERIFY(ok.message.isEmpty());
    QVERIFY(ok.resultName() == QLatin1String("PIN_OK"));

    const certpin::Verdict uncovered = company.verify({w.companyServer.certificate}, QStringLiteral("localhost"));
    QVERIFY(uncovered.result == PIN_ERR_HOST_NOT_COVERED);
    const certpin::Verdict untrusted = company.verify({w.misissued.certificate}, QStringLiteral("127.0.0.1"));
    QVERIFY(untrusted.result == PIN_ERR_UNTRUSTED && !untrusted.vouched());
    QVERIFY2(untrusted.message.startsWith(QLatin1String("PIN_ERR_UNTRUSTED: ")), qPrintable(untrusted.message));
    // The message names the served certificate by its pin.
    QVERIFY2(untrusted.message.contains(demo::spkiPin(w.misissued.certificate)), qPrintable(untrusted.message));
    QVERIFY(company.verify({}, QStringLiteral("127.0.0.1")).result == PIN_ERR_CHAIN_EMPTY);
}

void VerdictApi::brokenJson()
{
    QString error;
    const certpin::Policy broken = certpin::Policy::fromJson("{\"version\": 1, \"rulez\": []}", &error);
    QVERIFY(!broken.isValid());
    QVERIFY2(error.contains(QLatin1String("PIN_ERR_POLICY_INVALID")) && error.contains(QLatin1String("rulez")),
             qPrintable(error));
    QVERIFY(broken.errorString() == error);
}

void VerdictApi::unreadableFile_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("result");
    QTest::addColumn<QString>("detail");
    QTest::newRow("missing file") << QStringLiteral("/nonexistent/pins.json") << QStringLiteral("PIN_ERR_POLICY_IO")
                                  << QString();
    // A policy in Qt resources is read through QFile: the misspelt key is
    // found, so the text was read.
    QTest::newRow("misspelt resource") << QStringLiteral(":/policies/misspelt.json")
                                       << QStringLiteral("PIN_ERR_POLICY_INVALID") << QStringLiteral("rulez");
    QTest::newRow("missing resource") << QStringLiteral(":/policies/none.json") << QStringLiteral("PIN_ERR_POLICY_IO")
                                      << QString();
}

void VerdictApi::unreadableFile()
{
    QFETCH(QString, path);
    QFETCH(QString, result);
    QFETCH(QString, detail);
    QString error;
    const certpin::Policy p = certpin::Policy::fromFile(path, &error);
    QVERIFY2(!p.isValid() && error.contains(result) && error.contains(detail), qPrintable(error));
    if (result == QLatin1String("PIN_ERR_POLICY_IO")) {
        // Not a policy: every verdict is that error.
        QVERIFY(p.verify({world().selfSigned.certificate}, QStringLiteral("127.0.0.1")).result == PIN_ERR_POLICY_IO);
    }
}

void VerdictApi::qrcScheme()
{
    QString error;
    certpin::Policy::fromFile(QStringLiteral("qrc:/policies/misspelt.json"), &error);
    QVERIFY2(error.contains(QLatin1String("rulez")), qPrintable(error));
}

void VerdictApi::fromPem()
{
    QString error;
    const certpin::Policy pem = certpin::Policy::fromPem(world().selfSigned.pem(), &error);
    QVERIFY2(pem.isValid() && error.isEmpty(), qPrintable(error));
}

QTEST_GUILESS_MAIN(VerdictApi)
#include "tst_verdict.moc"
