// The demo's PKI: every key and certificate is made when the program runs
// (OpenSSL's libcrypto), so nothing the demo or the tests use can expire.
#ifndef CERTPIN_DEMO_PKI_HPP
#define CERTPIN_DEMO_PKI_HPP

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

namespace demo {

/// A certificate with its private key.
struct Credential {
    QSslCertificate certificate;
    QSslKey key;
    /// The key as PKCS#8 PEM, to sign with it.
    QByteArray keyPem;

    /// The certificate as PEM.
    QByteArray pem() const { return certificate.toPem(); }
};

/// What a server certificate is made for.
struct ServerNames {
    /// The subject common name.
    QString commonName;
    /// Subject alternative names: IP literals and DNS names. Empty: no SAN at all.
    QStringList alternativeNames;
};

/// A root CA (self-signed, CA:TRUE), ECDSA P-256.
Credential makeRoot(const QString &commonName);
/// An intermediate CA signed by `issuer`.
Credential makeIntermediate(const Credential &issuer, const QString &commonName);
/// A server leaf (serverAuth) signed by `issuer`.
Credential makeServer(const Credential &issuer, const ServerNames &names);
/// A self-signed server certificate as `openssl req -x509` makes it (CA:TRUE).
Credential makeSelfSignedServer(const ServerNames &names);

/// The SPKI pin of a certificate, "sha256/<base64>".
QString spkiPin(const QSslCertificate &certificate);

} // namespace demo

#endif
