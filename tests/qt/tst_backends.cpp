// Which of Qt's TLS errors certpin ignores once it has accepted a chain
// itself, on each of Qt's TLS backends (README, "Qt's TLS backends"):
// synthetic error lists for every backend, every QSslError for every
// backend, and the errors the backend in use reports for each case that
// certpin exists for, measured on loopback servers.
//
//     certpin-qt-backends [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

#include <QtCore/QHash>
#include <QtCore/QMetaEnum>

#include <algorithm>

namespace {

const uint32_t kVouched = PIN_FLAG_VOUCHED;
const uint32_t kNamed = PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED;

/// The names of the QSslError values in `names` ("SelfSignedCertificate,HostNameMismatch").
QList<QSslError::SslError> errorCodes(const QString &names)
{
    const QMetaEnum meta = QMetaEnum::fromType<QSslError::SslError>();
    QList<QSslError::SslError> codes;
    for (const QString &name : names.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int value = meta.keyToValue(name.trimmed().toLatin1().constData(), &ok);
        if (!ok)
            qFatal("no QSslError::%s", qPrintable(name));
        codes << static_cast<QSslError::SslError>(value);
    }
    return codes;
}

/// Qt's errors as a backend reports them: each with the certificate it is about.
QList<QSslError> errorList(const QString &names)
{
    QList<QSslError> errors;
    for (const QSslError::SslError code : errorCodes(names))
        errors << QSslError(code, world().selfSigned.certificate);
    return errors;
}

/// The sorted names of `errors`, to compare a measurement with the table.
QString errorNames(const QList<QSslError> &errors)
{
    const QMetaEnum meta = QMetaEnum::fromType<QSslError::SslError>();
    QStringList names;
    for (const QSslError &e : errors)
        names << QString::fromLatin1(meta.valueToKey(e.error()));
    names.sort();
    return names.join(QLatin1Char(','));
}

QString sortedNames(const QString &names)
{
    QStringList list = names.split(QLatin1Char(','), Qt::SkipEmptyParts);
    list.sort();
    return list.join(QLatin1Char(','));
}

certpin::Verdict verdictOf(pin_result result, uint32_t flags)
{
    certpin::Verdict v;
    v.result = result;
    v.flags = flags;
    v.valid = true;
    return v;
}

/// The README's table, written out again: per backend, the errors that a
/// vouched chain whose anchor Qt does not know explains.
QHash<QString, QStringList> unknownAnchorErrors()
{
    return {
        {QStringLiteral("openssl"),
         {QStringLiteral("SelfSignedCertificate"), QStringLiteral("SelfSignedCertificateInChain"),
          QStringLiteral("UnableToGetLocalIssuerCertificate"), QStringLiteral("UnableToVerifyFirstCertificate")}},
        {QStringLiteral("schannel"),
         {QStringLiteral("CertificateUntrusted"), QStringLiteral("SelfSignedCertificate"),
          QStringLiteral("UnableToGetIssuerCertificate")}},
        {QStringLiteral("securetransport"), {QStringLiteral("CertificateUntrusted")}},
    };
}

/// One case of the README's table: what a server sends, for which name, and
/// what each backend reports for it.
struct Case {
    QList<QSslCertificate> chain;
    QSslKey key;
    /// The name the client verifies; empty: 127.0.0.1, the address it connects to.
    QString peerVerifyName;
    /// The policy: exactly these anchors.
    QSslCertificate anchor;
    /// Per backend, the errors Qt reports (names, in any order).
    QHash<QString, QString> reported;
    /// Whether certpin accepts the chain and ignores those errors.
    bool overridden;
};

QHash<QString, Case> makeCases()
{
    const demo::World &w = world();
    const QString name = QStringLiteral("pinned.test");
    const demo::Credential named = demo::makeSelfSignedServer({name, {name}});
    const demo::Credential other =
        demo::makeSelfSignedServer({QStringLiteral("other.test"), {QStringLiteral("other.test")}});
    auto rows = [](const QString &openssl, const QString &schannel, const QString &securetransport) {
        return QHash<QString, QString>{{QStringLiteral("openssl"), openssl},
                                       {QStringLiteral("schannel"), schannel},
                                       {QStringLiteral("securetransport"), securetransport}};
    };
    const QString untrusted = QStringLiteral("CertificateUntrusted");
    QHash<QString, Case> cases;
    cases.insert(QStringLiteral("self-signed by name"),
                 {{named.certificate}, named.key, name, named.certificate,
                  rows(QStringLiteral("SelfSignedCertificate"), untrusted, untrusted), true});
    cases.insert(QStringLiteral("self-signed by IP address"),
                 {{w.selfSigned.certificate}, w.selfSigned.key, QString(), w.selfSigned.certificate,
                  rows(QStringLiteral("SelfSignedCertificate"), untrusted, untrusted), true});
    cases.insert(QStringLiteral("private CA, leaf only"),
                 {{w.companyServer.certificate}, w.companyServer.key, QString(), w.companyRoot.certificate,
                  rows(QStringLiteral("UnableToGetLocalIssuerCertificate,UnableToVerifyFirstCertificate"),
                       QStringLiteral("UnableToGetIssuerCertificate"), untrusted),
                  true});
    cases.insert(QStringLiteral("private CA, leaf and intermediate"),
                 {{w.siteServer.certificate, w.pinnedIntermediate.certificate}, w.siteServer.key, QString(),
                  w.publicRoot.certificate,
                  rows(QStringLiteral("UnableToGetLocalIssuerCertificate"),
                       QStringLiteral("UnableToGetIssuerCertificate"), untrusted),
                  true});
    cases.insert(QStringLiteral("private CA, root sent too"),
                 {{w.siteServer.certificate, w.pinnedIntermediate.certificate, w.publicRoot.certificate},
                  w.siteServer.key, QString(), w.publicRoot.certificate,
                  rows(QStringLiteral("SelfSignedCertificateInChain"), untrusted, untrusted), true});
    // certpin refuses the name itself: nothing is ignored.
    cases.insert(QStringLiteral("name mismatch"),
                 {{other.certificate}, other.key, name, other.certificate,
                  rows(QStringLiteral("SelfSignedCertificate,HostNameMismatch"),
                       QStringLiteral("CertificateUntrusted,HostNameMismatch"),
                       QStringLiteral("CertificateUntrusted,HostNameMismatch")),
                  false});
    return cases;
}

const QHash<QString, Case> &cases()
{
    static const QHash<QString, Case> c = makeCases();
    return c;
}

} // namespace

class Backends : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        (void)world();
        (void)cases();
    }

    void synthetic_data();
    void synthetic();
    void everyError_data();
    void everyError();
    void activeBackend();
    void measured_data();
    void measured();
};

void Backends::synthetic_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<QString>("errors");
    QTest::addColumn<int>("result");
    QTest::addColumn<uint>("flags");
    QTest::addColumn<bool>("overridable");
    auto row = [](const char *name, const char *backend, const char *errors, pin_result result, uint32_t flags,
                  bool overridable) {
        QTest::newRow(name) << QString::fromLatin1(backend) << QString::fromLatin1(errors)
                            << static_cast<int>(result) << static_cast<uint>(flags) << overridable;
    };

    // OpenSSL: what it reports for the cases of the table.
    row("openssl: self-signed", "openssl", "SelfSignedCertificate", PIN_OK, kNamed, true);
    row("openssl: self-signed, name Qt refuses", "openssl", "SelfSignedCertificate,HostNameMismatch", PIN_OK, kNamed,
        true);
    row("openssl: private CA, leaf only", "openssl", "UnableToGetLocalIssuerCertificate,UnableToVerifyFirstCertificate",
        PIN_OK, kNamed, true);
    row("openssl: private CA, leaf and intermediate", "openssl", "UnableToGetLocalIssuerCertificate", PIN_OK, kNamed,
        true);
    row("openssl: private CA, root sent too", "openssl", "SelfSignedCertificateInChain", PIN_OK, kNamed, true);
    row("openssl: held handshake", "openssl", "HostNameMismatch", PIN_OK, kNamed, true);
    // OpenSSL: what it does not report for an unknown anchor.
    row("openssl: trust settings refuse the root", "openssl", "CertificateUntrusted", PIN_OK, kNamed, false);
    row("openssl: issuer missing from the store", "openssl", "UnableToGetIssuerCertificate", PIN_OK, kNamed, false);
    row("openssl: self-signed and expired", "openssl", "SelfSignedCertificate,CertificateExpired", PIN_OK, kNamed,
        false);
    row("openssl: private CA and revoked (OCSP)", "openssl", "UnableToGetLocalIssuerCertificate,CertificateRevoked",
        PIN_OK, kNamed, false);
    row("openssl: blacklisted", "openssl", "SelfSignedCertificateInChain,CertificateBlacklisted", PIN_OK, kNamed,
        false);
    row("openssl: bad signature", "openssl", "CertificateSignatureFailed,SelfSignedCertificate", PIN_OK, kNamed,
        false);
    row("openssl: wrong purpose", "openssl", "InvalidPurpose", PIN_OK, kNamed, false);
    row("openssl: no certificate", "openssl", "NoPeerCertificate", PIN_OK, kNamed, false);
    row("openssl: a default QSslError", "openssl", "NoError", PIN_OK, kNamed, false);

    // Schannel.
    row("schannel: self-signed CA", "schannel", "CertificateUntrusted", PIN_OK, kNamed, true);
    row("schannel: self-signed, not a CA", "schannel", "CertificateUntrusted,SelfSignedCertificate", PIN_OK, kNamed,
        true);
    row("schannel: self-signed, name Qt refuses", "schannel", "CertificateUntrusted,HostNameMismatch", PIN_OK, kNamed,
        true);
    row("schannel: private CA, partial chain", "schannel", "UnableToGetIssuerCertificate", PIN_OK, kNamed, true);
    row("schannel: private CA, root sent too", "schannel", "CertificateUntrusted", PIN_OK, kNamed, true);
    row("schannel: OpenSSL's partial chain", "schannel", "UnableToGetLocalIssuerCertificate", PIN_OK, kNamed, false);
    row("schannel: OpenSSL's root in chain", "schannel", "SelfSignedCertificateInChain", PIN_OK, kNamed, false);
    row("schannel: no chain built", "schannel", "UnableToVerifyFirstCertificate", PIN_OK, kNamed, false);
    row("schannel: explicitly distrusted", "schannel", "CertificateUntrusted,CertificateBlacklisted", PIN_OK, kNamed,
        false);
    row("schannel: revoked", "schannel", "UnableToGetIssuerCertificate,CertificateRevoked", PIN_OK, kNamed, false);
    row("schannel: not valid for usage", "schannel", "CertificateUntrusted,InvalidPurpose", PIN_OK, kNamed, false);
    row("schannel: name constraints", "schannel", "CertificateUntrusted,UnspecifiedError", PIN_OK, kNamed, false);
    row("schannel: path length", "schannel", "PathLengthExceeded", PIN_OK, kNamed, false);
    row("schannel: not yet valid", "schannel", "CertificateUntrusted,CertificateNotYetValid", PIN_OK, kNamed, false);

    // SecureTransport.
    row("securetransport: unknown anchor", "securetransport", "CertificateUntrusted", PIN_OK, kNamed, true);
    row("securetransport: name Qt refuses", "securetransport", "HostNameMismatch,CertificateUntrusted", PIN_OK, kNamed,
        true);
    row("securetransport: OpenSSL's self-signed", "securetransport", "SelfSignedCertificate", PIN_OK, kNamed, false);
    row("securetransport: Schannel's partial chain", "securetransport", "UnableToGetIssuerCertificate", PIN_OK, kNamed,
        false);
    row("securetransport: blacklisted", "securetransport", "CertificateBlacklisted,CertificateUntrusted", PIN_OK,
        kNamed, false);

    // A backend certpin does not know: only the host-name error certpin checked.
    row("cert-only: self-signed", "cert-only", "SelfSignedCertificate", PIN_OK, kNamed, false);
    row("cert-only: untrusted", "cert-only", "CertificateUntrusted", PIN_OK, kNamed, false);
    row("no name: self-signed", "", "SelfSignedCertificate", PIN_OK, kNamed, false);
    row("OpenSSL (not Qt's spelling): self-signed", "OpenSSL", "SelfSignedCertificate", PIN_OK, kNamed, false);
    row("winrt: untrusted", "winrt", "CertificateUntrusted", PIN_OK, kNamed, false);
    row("winrt: private CA", "winrt", "UnableToGetIssuerCertificate", PIN_OK, kNamed, false);
    row("unknown: held handshake", "cert-only", "HostNameMismatch", PIN_OK, kNamed, true);
    row("unknown: host name not checked", "cert-only", "HostNameMismatch", PIN_OK, kVouched, false);

    // The verdict: only a chain certpin vouched for, names only when checked.
    row("openssl: host name not checked", "openssl", "SelfSignedCertificate,HostNameMismatch", PIN_OK, kVouched,
        false);
    row("openssl: vouched, name fine", "openssl", "SelfSignedCertificate", PIN_OK, kVouched, true);
    row("schannel: host name not checked", "schannel", "CertificateUntrusted,HostNameMismatch", PIN_OK, kVouched,
        false);
    row("securetransport: host name not checked", "securetransport", "CertificateUntrusted,HostNameMismatch", PIN_OK,
        kVouched, false);
    row("openssl: bare PIN_OK", "openssl", "SelfSignedCertificate", PIN_OK, 0, false);
    row("schannel: bare PIN_OK", "schannel", "CertificateUntrusted", PIN_OK, 0, false);
    row("securetransport: bare PIN_OK", "securetransport", "CertificateUntrusted", PIN_OK, 0, false);
    row("openssl: unlisted host", "openssl", "SelfSignedCertificate", PIN_OK, PIN_FLAG_UNLISTED, false);
    row("securetransport: unlisted host", "securetransport", "CertificateUntrusted", PIN_OK, PIN_FLAG_UNLISTED, false);
    row("openssl: report-only", "openssl", "UnableToGetLocalIssuerCertificate", PIN_OK, PIN_FLAG_REPORT_ONLY, false);
    row("schannel: report-only", "schannel", "UnableToGetIssuerCertificate", PIN_OK, PIN_FLAG_REPORT_ONLY, false);
    row("openssl: name verified, not vouched", "openssl", "HostNameMismatch", PIN_OK, PIN_FLAG_NAME_VERIFIED, false);
    row("openssl: rejected with flags", "openssl", "SelfSignedCertificate", PIN_ERR_UNTRUSTED, kNamed, false);
    row("schannel: rejected with flags", "schannel", "CertificateUntrusted", PIN_ERR_PIN_MISMATCH, kNamed, false);
    row("securetransport: rejected with flags", "securetransport", "CertificateUntrusted", PIN_ERR_EXPIRED, kNamed,
        false);
    row("openssl: from the cache", "openssl", "SelfSignedCertificate", PIN_OK, kNamed | PIN_FLAG_CACHED, true);
    row("openssl: no error at all", "openssl", "", PIN_OK, kNamed, false);
    row("schannel: a default QSslError", "schannel", "NoError", PIN_OK, kNamed, false);
    row("securetransport: a default QSslError", "securetransport", "NoError", PIN_OK, kNamed, false);
}

void Backends::synthetic()
{
    QFETCH(QString, backend);
    QFETCH(QString, errors);
    QFETCH(int, result);
    QFETCH(uint, flags);
    QFETCH(bool, overridable);
    const certpin::Verdict verdict = verdictOf(static_cast<pin_result>(result), flags);
    QCOMPARE(certpin::detail::overridable(errorList(errors), verdict, backend), overridable);
    // In any order.
    QList<QSslError> reversed = errorList(errors);
    std::reverse(reversed.begin(), reversed.end());
    QCOMPARE(certpin::detail::overridable(reversed, verdict, backend), overridable);
}

/// Every QSslError, alone, on every backend: ignored exactly when the table
/// says so. Revocation, expiry, distrust, ... never are.
void Backends::everyError_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("error");
    QTest::addColumn<bool>("overridable");
    const QMetaEnum meta = QMetaEnum::fromType<QSslError::SslError>();
    const QHash<QString, QStringList> table = unknownAnchorErrors();
    for (const QString &backend : {QStringLiteral("openssl"), QStringLiteral("schannel"),
                                   QStringLiteral("securetransport"), QStringLiteral("cert-only")}) {
        for (int i = 0; i < meta.keyCount(); ++i) {
            const QString name = QString::fromLatin1(meta.key(i));
            const bool expected = table.value(backend).contains(name) || name == QLatin1String("HostNameMismatch");
            QTest::newRow(qPrintable(backend + QLatin1Char(':') + name)) << backend << meta.value(i) << expected;
        }
    }
}

void Backends::everyError()
{
    QFETCH(QString, backend);
    QFETCH(int, error);
    QFETCH(bool, overridable);
    const QList<QSslError> errors{QSslError(static_cast<QSslError::SslError>(error), world().selfSigned.certificate)};
    QCOMPARE(certpin::detail::overridable(errors, verdictOf(PIN_OK, kNamed), backend), overridable);
    // Without the name checked, a host-name error stands.
    const bool withoutName = overridable && error != QSslError::HostNameMismatch;
    QCOMPARE(certpin::detail::overridable(errors, verdictOf(PIN_OK, kVouched), backend), withoutName);
    // Without certpin vouching, nothing is ignored.
    QVERIFY(!certpin::detail::overridable(errors, verdictOf(PIN_OK, PIN_FLAG_NAME_VERIFIED), backend));
}

/// The backend the helper goes by is the one Qt's sockets use.
void Backends::activeBackend()
{
    const QString backend = certpin::detail::activeTlsBackend();
#if QT_VERSION >= QT_VERSION_CHECK(6, 1, 0)
    QCOMPARE(backend, QSslSocket::activeBackend());
    QVERIFY2(QSslSocket::availableBackends().contains(backend), qPrintable(backend));
#endif
#if defined(Q_OS_LINUX)
    // Qt 5 and Qt 6 on Linux: OpenSSL, the backend the table's first column was measured on.
    QCOMPARE(backend, QStringLiteral("openssl"));
#endif
    QVERIFY2(certpin::detail::backendErrors(backend) != nullptr || !unknownAnchorErrors().contains(backend),
             qPrintable(backend));
}

/// What the backend in use reports for each case, measured: exactly the
/// table's errors, and overridable() ignores them when certpin accepts the chain.
void Backends::measured_data()
{
    QTest::addColumn<QString>("name");
    QStringList names = cases().keys();
    names.sort();
    for (const QString &name : names)
        QTest::newRow(qPrintable(name)) << name;
}

void Backends::measured()
{
    QFETCH(QString, name);
    const Case &c = cases().value(name);
    const QString backend = certpin::detail::activeTlsBackend();
    if (!c.reported.contains(backend))
        QSKIP(qPrintable(QStringLiteral("no table for the backend \"%1\"").arg(backend)));
    auto server = serve(name, c.chain, c.key);

    QSslSocket socket;
    if (!c.peerVerifyName.isEmpty())
        socket.setPeerVerifyName(c.peerVerifyName);
    QList<QSslError> reported;
    QList<QSslCertificate> chain;
    bool seen = false;
    QObject::connect(&socket, QOverload<const QList<QSslError> &>::of(&QSslSocket::sslErrors), &socket,
                     [&](const QList<QSslError> &errors) {
                         seen = true;
                         reported = errors;
                         chain = socket.peerCertificateChain();
                     });
    socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), server->port());
    QTRY_VERIFY2_WITH_TIMEOUT(seen || socket.state() == QAbstractSocket::UnconnectedState, "no sslErrors", 5000);
    QVERIFY2(seen, qPrintable(socket.errorString()));
    QCOMPARE(errorNames(reported), sortedNames(c.reported.value(backend)));
    QVERIFY2(!chain.isEmpty(), "no peer chain in sslErrors");

    const certpin::Policy policy = certpin::Policy::fromPem(c.anchor.toPem());
    const QString host = c.peerVerifyName.isEmpty() ? QStringLiteral("127.0.0.1") : c.peerVerifyName;
    const certpin::Verdict verdict = policy.verify(chain, host);
    QCOMPARE(verdict.ok(), c.overridden);
    QCOMPARE(certpin::detail::overridable(reported, verdict), c.overridden);
    if (c.overridden) {
        QVERIFY2(verdict.vouched() && verdict.nameVerified(), qPrintable(verdict.message));
        // One error more than the backend reported, and it stands.
        reported << QSslError(QSslError::CertificateRevoked, chain.first());
        QVERIFY(!certpin::detail::overridable(reported, verdict));
    } else {
        QVERIFY2(verdict.result == PIN_ERR_HOSTNAME_MISMATCH, qPrintable(verdict.message));
    }
}

QTEST_GUILESS_MAIN(Backends)
#include "tst_backends.moc"
