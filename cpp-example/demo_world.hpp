// The certificates and policies of the demo's scenarios (the Qt tests use
// the same ones). All servers run on 127.0.0.1 and are reached by that address.
#ifndef CERTPIN_DEMO_WORLD_HPP
#define CERTPIN_DEMO_WORLD_HPP

#include "demo_pki.hpp"

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>

namespace demo {

/// Every certificate the scenarios need, made afresh at each run.
struct World {
    /// "Connect only to my self-signed certificate."
    Credential selfSigned;
    /// Some other self-signed server for the same address.
    Credential strangerSelfSigned;
    /// The company's private CA, which Qt does not know.
    Credential companyRoot;
    Credential companyServer;
    /// A CA that Qt trusts (it stands for a root of the system store) but the
    /// company policy does not.
    Credential publicRoot;
    /// A certificate for our address that the public CA issued to someone else.
    Credential misissued;
    /// The intermediate CA the real site uses, under the public root: pinned.
    Credential pinnedIntermediate;
    /// The real site's certificate, under the pinned intermediate.
    Credential siteServer;

    static World make();

    /// The CVE-2016-2402 chain: the mis-issued leaf (valid under the public
    /// root) with the pinned intermediate appended, which it does not need.
    QList<QSslCertificate> appendedPinChain() const { return {misissued.certificate, pinnedIntermediate.certificate}; }

    /// Qt's default configuration plus the public root, as if it were in the
    /// system store.
    QSslConfiguration configurationTrustingPublicRoot() const;
};

/// A policy document of version 1 with one rule for 127.0.0.1.
QByteArray policyJson(const QJsonObject &rule, const QString &unlistedHosts = QStringLiteral("reject"));
/// A rule for 127.0.0.1 with these anchors (PEM), system_roots false, and these pins.
QJsonObject loopbackRule(const QList<QSslCertificate> &anchors, const QStringList &pins = {});

} // namespace demo

#endif
