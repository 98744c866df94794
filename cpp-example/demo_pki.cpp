#include "demo_pki.hpp"

#include <QtCore/QCryptographicHash>
#include <QtNetwork/QHostAddress>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace demo {
namespace {

struct Free {
    void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
    void operator()(X509 *p) const { X509_free(p); }
    void operator()(BIO *p) const { BIO_free(p); }
    void operator()(BIGNUM *p) const { BN_free(p); }
    void operator()(X509_EXTENSION *p) const { X509_EXTENSION_free(p); }
};
template <typename T> using Owned = std::unique_ptr<T, Free>;

[[noreturn]] void fail(const char *what)
{
    throw std::runtime_error(std::string("demo PKI: ") + what + " failed");
}

template <typename T> T *check(T *p, const char *what)
{
    if (!p)
        fail(what);
    return p;
}

void check(int ok, const char *what)
{
    if (ok <= 0)
        fail(what);
}

QByteArray drain(BIO *bio)
{
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return QByteArray(data, static_cast<int>(size));
}

Owned<EVP_PKEY> readKey(const QByteArray &pem)
{
    Owned<BIO> bio(check(BIO_new_mem_buf(pem.constData(), pem.size()), "BIO_new_mem_buf"));
    return Owned<EVP_PKEY>(check(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), "reading a key"));
}

Owned<X509> readCertificate(const QByteArray &pem)
{
    Owned<BIO> bio(check(BIO_new_mem_buf(pem.constData(), pem.size()), "BIO_new_mem_buf"));
    return Owned<X509>(check(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), "reading a certificate"));
}

void addExtension(X509 *certificate, X509 *issuer, int nid, const QByteArray &value)
{
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
    Owned<X509_EXTENSION> extension(
        check(X509V3_EXT_conf_nid(nullptr, &context, nid, value.constData()), "making an extension"));
    check(X509_add_ext(certificate, extension.get(), -1), "X509_add_ext");
}

QByteArray subjectAltNames(const QStringList &names)
{
    QStringList parts;
    for (const QString &name : names)
        parts << (QHostAddress(name).isNull() ? QStringLiteral("DNS:") : QStringLiteral("IP:")) + name;
    return parts.join(QLatin1Char(',')).toLatin1();
}

enum class Kind { Root, Intermediate, Server, SelfSignedServer };

// `issuer` is null for a self-signed certificate.
Credential make(Kind kind, const Credential *issuer, const ServerNames &names)
{
    Owned<EVP_PKEY> key(check(EVP_EC_gen("P-256"), "EVP_EC_gen"));
    Owned<X509> certificate(check(X509_new(), "X509_new"));
    check(X509_set_version(certificate.get(), 2), "X509_set_version");

    // A positive 127-bit serial with its top bit set, so it is never zero.
    Owned<BIGNUM> serial(check(BN_new(), "BN_new"));
    check(BN_rand(serial.get(), 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand");
    check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) != nullptr,
          "BN_to_ASN1_INTEGER");

    // Valid from an hour ago (clock skew) for ten years: made afresh at each run.
    check(X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) != nullptr, "notBefore");
    check(X509_time_adj_ex(X509_getm_notAfter(certificate.get()), 3650, 0, nullptr) != nullptr, "notAfter");

    X509_NAME *subject = X509_get_subject_name(certificate.get());
    const QByteArray cn = names.commonName.toUtf8();
    check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char *>(cn.constData()), -1, -1, 0),
          "subject");
    check(X509_set_pubkey(certificate.get(), key.get()), "X509_set_pubkey");

    Owned<X509> issuerCertificate;
    Owned<EVP_PKEY> issuerKey;
    if (issuer) {
        issuerCertificate = readCertificate(issuer->pem());
        issuerKey = readKey(issuer->keyPem);
        check(X509_set_issuer_name(certificate.get(), X509_get_subject_name(issuerCertificate.get())), "issuer");
    } else {
        check(X509_set_issuer_name(certificate.get(), subject), "issuer");
    }
    X509 *signer = issuer ? issuerCertificate.get() : certificate.get();

    switch (kind) {
    case Kind::Root:
    case Kind::Intermediate:
        addExtension(certificate.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(certificate.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        break;
    case Kind::Server:
        addExtension(certificate.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(certificate.get(), signer, NID_key_usage, "critical,digitalSignature");
        addExtension(certificate.get(), signer, NID_ext_key_usage, "serverAuth");
        break;
    case Kind::SelfSignedServer:
        // What `openssl req -x509` writes by default.
        addExtension(certificate.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        break;
    }
    if (!names.alternativeNames.isEmpty())
        addExtension(certificate.get(), signer, NID_subject_alt_name, subjectAltNames(names.alternativeNames));
    addExtension(certificate.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer)
        addExtension(certificate.get(), signer, NID_authority_key_identifier, "keyid:always");

    check(X509_sign(certificate.get(), issuer ? issuerKey.get() : key.get(), EVP_sha256()), "X509_sign");

    Owned<BIO> certificateOut(check(BIO_new(BIO_s_mem()), "BIO_new"));
    check(PEM_write_bio_X509(certificateOut.get(), certificate.get()), "PEM_write_bio_X509");
    Owned<BIO> keyOut(check(BIO_new(BIO_s_mem()), "BIO_new"));
    check(PEM_write_bio_PrivateKey(keyOut.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
          "PEM_write_bio_PrivateKey");

    Credential made;
    made.certificate = QSslCertificate(drain(certificateOut.get()), QSsl::Pem);
    made.keyPem = drain(keyOut.get());
    made.key = QSslKey(made.keyPem, QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    if (made.certificate.isNull() || made.key.isNull())
        fail("loading the result into Qt");
    return made;
}

} // namespace

Credential makeRoot(const QString &commonName)
{
    return make(Kind::Root, nullptr, ServerNames{commonName, {}});
}

Credential makeIntermediate(const Credential &issuer, const QString &commonName)
{
    return make(Kind::Intermediate, &issuer, ServerNames{commonName, {}});
}

Credential makeServer(const Credential &issuer, const ServerNames &names)
{
    return make(Kind::Server, &issuer, names);
}

Credential makeSelfSignedServer(const ServerNames &names)
{
    return make(Kind::SelfSignedServer, nullptr, names);
}

QString spkiPin(const QSslCertificate &certificate)
{
    const QByteArray pem = certificate.toPem();
    Owned<X509> parsed = readCertificate(pem);
    unsigned char *der = nullptr;
    const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(parsed.get()), &der);
    if (length <= 0)
        fail("i2d_X509_PUBKEY");
    const QByteArray spki(reinterpret_cast<const char *>(der), length);
    OPENSSL_free(der);
    return QStringLiteral("sha256/")
        + QString::fromLatin1(QCryptographicHash::hash(spki, QCryptographicHash::Sha256).toBase64());
}

} // namespace demo
