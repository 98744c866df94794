#include "demo_world.hpp"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>

namespace demo {

namespace {
const QStringList kLoopback{QStringLiteral("127.0.0.1")};
} // namespace

World World::make()
{
    World w;
    w.selfSigned = makeSelfSignedServer({QStringLiteral("certpin demo self-signed server"), kLoopback});
    w.strangerSelfSigned = makeSelfSignedServer({QStringLiteral("some other self-signed server"), kLoopback});
    w.companyRoot = makeRoot(QStringLiteral("certpin demo company root CA"));
    w.companyServer = makeServer(w.companyRoot, {QStringLiteral("certpin demo company server"), kLoopback});
    w.publicRoot = makeRoot(QStringLiteral("certpin demo public root CA"));
    w.misissued = makeServer(w.publicRoot, {QStringLiteral("mis-issued certificate"), kLoopback});
    w.pinnedIntermediate = makeIntermediate(w.publicRoot, QStringLiteral("certpin demo pinned intermediate CA"));
    w.siteServer = makeServer(w.pinnedIntermediate, {QStringLiteral("certpin demo site server"), kLoopback});
    return w;
}

QSslConfiguration World::configurationTrustingPublicRoot() const
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    QList<QSslCertificate> cas = configuration.caCertificates();
    cas.append(publicRoot.certificate);
    configuration.setCaCertificates(cas);
    return configuration;
}

QByteArray policyJson(const QJsonObject &rule, const QString &unlistedHosts)
{
    QJsonObject policy;
    policy.insert(QStringLiteral("version"), 1);
    policy.insert(QStringLiteral("unlisted_hosts"), unlistedHosts);
    policy.insert(QStringLiteral("rules"), QJsonArray{rule});
    return QJsonDocument(policy).toJson();
}

QJsonObject loopbackRule(const QList<QSslCertificate> &anchors, const QStringList &pins)
{
    QJsonArray pem;
    for (const QSslCertificate &anchor : anchors)
        pem.append(QString::fromLatin1(anchor.toPem()));
    QJsonObject rule;
    rule.insert(QStringLiteral("hosts"), QJsonArray::fromStringList(kLoopback));
    rule.insert(QStringLiteral("anchors"), pem);
    rule.insert(QStringLiteral("system_roots"), false);
    if (!pins.isEmpty())
        rule.insert(QStringLiteral("pins"), QJsonArray::fromStringList(pins));
    return rule;
}

} // namespace demo
