// certpin::install() on a QQmlEngine: QML's XMLHttpRequest to a rogue server
// Qt trusts sends it nothing (Qt alone sends the request), to the company
// server it gets 200 and the body; the engine's own manager is pinned, also
// one the engine made before install(); an engine with a factory of its own
// is left alone and install() says so.
//
//     certpin-qt-qml [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

#include <QtQml/QJSValue>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlNetworkAccessManagerFactory>

#include "certpin_qt_qml.hpp"

namespace {

struct XhrResult {
    bool done = false;
    int status = -1;
    QString text;
};

/// Runs an XMLHttpRequest GET of `url` in `engine` (with a bearer token)
/// and waits (at most 10 s) for it to end.
XhrResult xhr(QQmlEngine &engine, const QString &url)
{
    engine.globalObject().setProperty(QStringLiteral("xhrDone"), false);
    const QJSValue started = engine.evaluate(QStringLiteral(R"(
        (function (url) {
            var request = new XMLHttpRequest();
            request.onreadystatechange = function () {
                if (request.readyState === XMLHttpRequest.DONE) {
                    xhrStatus = request.status;
                    xhrText = request.responseText;
                    xhrDone = true;
                }
            };
            request.open("GET", url);
            request.setRequestHeader("Authorization", "Bearer not-for-the-rogue");
            request.send();
        })
    )")).call({QJSValue(url)});
    XhrResult result;
    if (started.isError()) {
        result.text = started.toString();
        return result;
    }
    result.done = QTest::qWaitFor([&engine] { return engine.globalObject().property(QStringLiteral("xhrDone")).toBool(); },
                                  10000);
    result.status = engine.globalObject().property(QStringLiteral("xhrStatus")).toInt();
    result.text = engine.globalObject().property(QStringLiteral("xhrText")).toString();
    return result;
}

class OwnFactory : public QQmlNetworkAccessManagerFactory {
public:
    QNetworkAccessManager *create(QObject *parent) override { return new QNetworkAccessManager(parent); }
};

} // namespace

class Qml : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)world(); }

    void xhrToRogueSendsNothing();
    void qtAloneSendsTheRequest();
    void xhrToCompanyServer();
    void managerMadeBeforeInstallIsPinned();
    void ownFactoryIsLeftAlone();
};

void Qml::xhrToRogueSendsNothing()
{
    const TrustPublicRoot trust;
    auto rogue = serve(QStringLiteral("rogue"), world().misissued);
    QQmlEngine engine;
    Rejections rejections;
    QVERIFY(certpin::install(&engine, companyPolicy(), rejections.handler()));
    QVERIFY(dynamic_cast<certpin::NetworkAccessManager *>(engine.networkAccessManager()));
    const XhrResult result = xhr(engine, rogue->url(QStringLiteral("/secret")));
    QVERIFY2(result.done, qPrintable(result.text));
    QCOMPARE(result.status, 0);
    QVERIFY(result.text.isEmpty());
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED), qPrintable(rejections.describe()));
}

/// The control: the same engine setup without certpin sends the request.
void Qml::qtAloneSendsTheRequest()
{
    const TrustPublicRoot trust;
    auto rogue = serve(QStringLiteral("rogue"), world().misissued);
    QQmlEngine engine;
    const XhrResult result = xhr(engine, rogue->url(QStringLiteral("/secret")));
    QVERIFY(result.done);
    QCOMPARE(result.status, 200);
    QVERIFY(rogue->requestBytes() > 0);
}

void Qml::xhrToCompanyServer()
{
    auto company = serve(QStringLiteral("company"), world().companyServer);
    QQmlEngine engine;
    Rejections rejections;
    QVERIFY(certpin::install(&engine, companyPolicy(), rejections.handler()));
    const XhrResult result = xhr(engine, company->url(QStringLiteral("/data")));
    QVERIFY2(result.done, qPrintable(result.text));
    QCOMPARE(result.status, 200);
    QCOMPARE(result.text.toUtf8(), company->body());
    QVERIFY2(rejections.verdicts.isEmpty(), qPrintable(rejections.describe()));
}

void Qml::managerMadeBeforeInstallIsPinned()
{
    const TrustPublicRoot trust;
    auto rogue = serve(QStringLiteral("rogue"), world().misissued);
    QQmlEngine engine;
    QNetworkAccessManager *early = engine.networkAccessManager();
    QVERIFY(early);
    Rejections rejections;
    QVERIFY(certpin::install(&engine, companyPolicy(), rejections.handler()));
    QCOMPARE(engine.networkAccessManager(), early);
    QVERIFY(certpin::detail::guardOf<certpin::detail::ManagerGuard>(early));
    const XhrResult result = xhr(engine, rogue->url(QStringLiteral("/secret")));
    QVERIFY(result.done);
    QCOMPARE(result.status, 0);
    // Pinned as a manager made elsewhere (install()). XMLHttpRequest
    // disconnects every signal of the reply in its error slot, which runs
    // inside certpin's abort: the request must not go out all the same.
    VERIFY_NOTHING_RECEIVED(*rogue);
    QVERIFY2(rejections.allOf(PIN_ERR_UNTRUSTED), qPrintable(rejections.describe()));
}

void Qml::ownFactoryIsLeftAlone()
{
    QQmlEngine engine;
    OwnFactory own;
    engine.setNetworkAccessManagerFactory(&own);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("QQmlNetworkAccessManagerFactory of its own")));
    QVERIFY(!certpin::install(&engine, companyPolicy()));
    QCOMPARE(engine.networkAccessManagerFactory(), &own);
}

QTEST_GUILESS_MAIN(Qml)
#include "tst_qml.moc"
