/*
 * certpin_qt.hpp: certificate pinning for Qt network code (Qt 5.15 and Qt 6).
 *
 * Header-only; needs no moc (but for certpin_qt_qml_websocket.hpp, whose QML type
 * does). Link the certpin library (CMake: certpin::certpin).
 *
 *     certpin::Policy policy = certpin::Policy::fromFile("pins.json");
 *     certpin::NetworkAccessManager manager(policy, [](QNetworkReply *reply, const certpin::Verdict &v) {
 *         qWarning() << "refused" << reply->url() << v.message;
 *     });
 *
 * certpin::NetworkAccessManager holds each new TLS connection's handshake
 * until certpin has judged its chain (see its comment); install() pins a
 * manager made elsewhere, as follows.
 *
 * What install() does for a QNetworkAccessManager, and why (Qt's behaviour,
 * measured on Qt 6.4 and 5.15):
 *  - The chain is checked in the manager's `encrypted` signal through a direct
 *    connection: Qt's network thread waits for the slot, so an abort there
 *    happens before any request byte is sent. A queued connection would let the
 *    request out first.
 *  - `encrypted` fires only for the first request on a connection, and Qt's
 *    connection cache ignores per-request TLS settings. So the cache is cleared
 *    when pinning is installed or its policy replaced, and every HTTPS reply is
 *    checked again when its headers arrive (`metaDataChanged`, before any body
 *    reaches the application). Clearing the cache while a request is under way
 *    would strand that request forever, so it happens only when the manager has
 *    no unfinished reply; until then the second check covers reused connections.
 *  - After a rejection the origin (scheme, host, port) is quarantined: every
 *    unfinished reply to it is aborted (with HTTP/2 they share the rejected
 *    connection and would hang; with HTTP/1.1 they wait in Qt's queue for
 *    it), and every later request to it is refused before Qt can put it on
 *    the rejected connection, which it would do without a new handshake. The
 *    refusal happens where Qt asks the manager's proxy factory about the
 *    request (certpin's factory stands in front of the manager's proxy
 *    settings; see setProxyFactory()). The quarantine ends when the
 *    connection cache is cleared, once the manager is idle.
 *  - Synchronous requests (QNetworkRequest::SynchronousRequestAttribute)
 *    over TLS are refused on a pinned manager: Qt sends them without
 *    emitting `encrypted`, so their chain cannot be checked before they go.
 *  - In `sslErrors`, Qt's errors are ignored only when certpin vouched for the
 *    chain itself (PIN_FLAG_VOUCHED: a pinned self-signed server, a private CA
 *    Qt does not know), only the errors that case explains on the TLS backend
 *    in use (QSslSocket::activeBackend(); a backend certpin does not know gets
 *    none of them ignored), and a host-name error only when certpin checked
 *    the name (PIN_FLAG_NAME_VERIFIED). A bare PIN_OK
 *    (an unlisted host under "allow", a report-only rule) never overrides Qt.
 *  - Without a rejection the application's own QSslConfiguration is left as is.
 *
 * Violation reports: for a rule with a `report_uri`, every violation (enforced
 * or report-only) is posted there as `application/json`, the RFC 7469 report
 * that certpin's report callback receives. The post is queued to the
 * application's main thread and goes out through a QNetworkAccessManager of
 * the header's own, which pinning never covers; the request being checked
 * does not wait for it. An identical report (same host, port, served chain
 * and result) goes out at most once a day per process; a failed post is
 * dropped. Nothing is sent for a rule without `report_uri`. A report-only
 * rule lets the request through and never makes Qt's own errors ignored.
 *
 * Call install() from the thread the manager or socket lives in, before the
 * application connects its own slots to `encrypted` (slots run in connection
 * order). The onReject callbacks run while Qt's network thread waits for them:
 * they must not block.
 */
#ifndef CERTPIN_QT_HPP
#define CERTPIN_QT_HPP

#include <certpin.h>

#include "certpin_qt_report.hpp"

#include <QtCore/QByteArray>
#include <QtCore/QChildEvent>
#include <QtCore/QDateTime>
#include <QtCore/QEvent>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QIODevice>
#include <QtCore/QList>
#include <QtCore/QMetaObject>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtCore/QVariant>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslError>
#include <QtNetwork/QSslSocket>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace certpin {

/// certpin's answer for one chain.
struct Verdict {
    /// PIN_OK to proceed; anything else is a rejection.
    pin_result result = PIN_ERR_INTERNAL;
    /// PIN_FLAG_* bits: what the answer rests on.
    uint32_t flags = 0;
    /// "PIN_ERR_…: detail" for a rejection (and for a report-only violation);
    /// empty for a plain acceptance.
    QString message;
    /// Whether certpin gave this verdict (false for a default-constructed one,
    /// and from verdictOf() for an object certpin did not refuse).
    bool valid = false;

    /// Whether certpin gave this verdict.
    bool isValid() const noexcept { return valid; }
    /// Whether the connection may proceed.
    bool ok() const noexcept { return result == PIN_OK; }
    /// Whether a rule of the policy validated and accepted the chain itself,
    /// as opposed to PIN_OK for an unlisted host or from a report-only rule.
    bool vouched() const noexcept { return ok() && (flags & static_cast<uint32_t>(PIN_FLAG_VOUCHED)) != 0; }
    /// Whether certpin checked the host name against the leaf.
    bool nameVerified() const noexcept
    {
        return ok() && (flags & static_cast<uint32_t>(PIN_FLAG_NAME_VERIFIED)) != 0;
    }
    /// The result's name, e.g. "PIN_ERR_PIN_MISMATCH".
    QString resultName() const { return QString::fromLatin1(pin_result_name(static_cast<int>(result))); }
};

/// A loaded pinning policy. Copies share one immutable certpin policy, which
/// may be used from any thread. A policy that failed to load rejects every
/// chain with the error of the load: pinning fails closed.
class Policy {
public:
    /// An empty policy: rejects everything.
    Policy() = default;

    /// Loads a JSON policy file; anchors that are file paths are relative to
    /// its folder. A policy in Qt resources (":/app/pins.json",
    /// "qrc:/app/pins.json") reads its anchor files from the resources too: a
    /// relative "certs/root.pem" is ":/app/certs/root.pem", never a file on
    /// disk (an absolute path is the file it names).
    static Policy fromFile(const QString &path, QString *error = nullptr);

    /// Loads a JSON policy from memory. It has no folder: anchor files must be
    /// absolute paths (a relative one is refused, naming it), or give the PEM
    /// text inline.
    static Policy fromJson(const QByteArray &json, QString *error = nullptr);

    /// The quick policy: every host, trust exactly the certificates in this
    /// PEM text and nothing else.
    static Policy fromPem(const QByteArray &pem, QString *error = nullptr);

    /// Loads a signed policy update: the bytes of the file `certpin update
    /// sign` wrote, as fetched. It loads only when it is signed by one of
    /// `trustedKeys` ("ed25519/<base64>", as `certpin update keygen` prints
    /// them), its sequence is above `minSequence` (the sequence of the last
    /// update applied, 0 for none) and it has not expired; otherwise the
    /// policy is invalid, loadResult() says why (PIN_ERR_UPDATE_SIGNATURE,
    /// PIN_ERR_UPDATE_ROLLBACK, PIN_ERR_UPDATE_EXPIRED, PIN_ERR_POLICY_*),
    /// and the application keeps the policy it has. A policy from an update
    /// keeps verifying after updateExpiry(): return to the built-in policy
    /// then (certpin::PolicyUpdater does).
    static Policy fromUpdate(const QByteArray &update, const QStringList &trustedKeys, quint64 minSequence,
                             QString *error = nullptr);

    /// Whether the policy loaded.
    bool isValid() const noexcept { return m_policy != nullptr; }
    /// PIN_OK when the policy loaded, else the result of the load.
    pin_result loadResult() const noexcept { return isValid() ? PIN_OK : m_loadResult; }
    /// The sequence of the signed update the policy came from; 0 for a
    /// policy loaded any other way (sequences start at 1).
    quint64 updateSequence() const;
    /// When the signed update the policy came from expires (UTC); invalid
    /// for a policy loaded any other way.
    QDateTime updateExpiry() const;
    /// Why the policy did not load ("PIN_ERR_…: detail"); empty when it did.
    QString errorString() const { return isValid() ? QString() : m_loadError; }
    /// The certpin handle, for the C API; null when the policy did not load.
    const pin_policy *handle() const noexcept { return m_policy.get(); }

    /// Verifies the chain a server presented (leaf first, as Qt's
    /// peerCertificateChain() gives it) for `host`, the name the application
    /// connected to. `port` only goes into violation reports. A violation of
    /// a rule with a `report_uri` (enforced or report-only) is posted there
    /// from the application's main thread, later: this call never waits for it.
    Verdict verify(const QList<QSslCertificate> &chain, const QString &host, quint16 port = 0) const;

private:
    static Policy adopt(pin_result result, pin_policy *loaded, QString *error,
                        const QString &what = QStringLiteral("the pinning policy did not load: "));

    std::shared_ptr<pin_policy> m_policy;
    pin_result m_loadResult = PIN_ERR_NULL_ARGUMENT;
    QString m_loadError = QStringLiteral("PIN_ERR_NULL_ARGUMENT: no pinning policy was loaded");
};

/// Pins every HTTPS request of `manager` to `policy`; installing again
/// replaces the policy. `onReject` is called (from a slot Qt's network thread
/// waits for: it must not block) for each reply refused, just before it is
/// aborted.
inline void install(QNetworkAccessManager *manager, const Policy &policy,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject = {});

/// Pins one socket to `policy`. Each handshake is judged for the name the
/// socket verifies then (its peerVerifyName(), else the host it connected
/// to), so a socket reconnected elsewhere falls under that host's rule.
/// Install before connecting the application's own `encrypted` slots and
/// before the handshake; installing again replaces the policy. On a
/// rejection `onReject` is called (it must not block) and the socket is
/// aborted.
inline void install(QSslSocket *socket, const Policy &policy, std::function<void(const Verdict &)> onReject = {});

/// The form of certpin 0.1, which took the host to judge. `host` is no
/// longer used: a socket is judged for the name it verifies at each
/// handshake (see above), since a fixed host let a socket reconnected to
/// another host be judged by the wrong rule.
inline void install(QSslSocket *socket, const Policy &policy, const QString &host,
                    std::function<void(const Verdict &)> onReject = {});

/// Sets a proxy factory on a pinned manager. QNetworkAccessManager deletes
/// the factory it replaces, so certpin's, which refuses requests to a
/// rejected origin before Qt can send them, must ask the application's
/// instead of being replaced by it: use this in place of
/// `manager->setProxyFactory(factory)` once certpin is installed. Takes
/// ownership of `factory`, as Qt does.
inline void setProxyFactory(QNetworkAccessManager *manager, QNetworkProxyFactory *factory);

/// The verdict with which certpin refused `object`, a QNetworkReply or a
/// socket it aborted (a QSslSocket, or a QWebSocket, see
/// certpin_qt_websockets.hpp); an invalid Verdict when certpin did not
/// refuse it. A refused reply's errorString() is the verdict's message
/// ("PIN_ERR_UNTRUSTED: …") too, so that a UI can tell "this server is not
/// ours" from "no network".
inline Verdict verdictOf(const QObject *object);

/// A QNetworkAccessManager pinned from its construction, and held tighter
/// than install() can hold a manager made elsewhere: the TLS handshake of
/// each of its connections to a host the policy can reject waits for
/// certpin's verdict, so no request ever goes out on a connection certpin
/// has not accepted, whatever Qt has queued for it (install() can only
/// abort what Qt has not yet handed to its network thread; with HTTP/2 a
/// request handed over in the moment between the handshake and the verdict
/// still goes out). Use it in place of QNetworkAccessManager:
///
///     certpin::NetworkAccessManager manager(policy);
///
/// How: Qt waits for `sslErrors`, not for `encrypted`, before it uses a
/// connection. So each request to such a host verifies a name no
/// certificate holds (a random name under the reserved `.invalid`), Qt
/// reports a host-name error for every chain, and certpin lets the
/// handshake go on only when it accepted the chain and checked the real
/// host name itself (the application's request is left as it was: reply->
/// request() is unchanged). The application's own `sslErrors` slots see that
/// host-name error too: certpin::unhandledSslErrors() gives the errors that
/// are the application's to judge. Not held, and checked as install()
/// checks: hosts whose chains the policy always accepts (an unlisted host
/// under "allow", a report-only rule), rules with "verify_hostname": false,
/// requests that set their own peerVerifyName, and the new connection a
/// redirect opens.
class NetworkAccessManager : public QNetworkAccessManager {
public:
    using RejectHandler = std::function<void(QNetworkReply *, const Verdict &)>;

    explicit NetworkAccessManager(const Policy &policy, RejectHandler onReject = {}, QObject *parent = nullptr);

    /// Replaces the policy (as install() does).
    void setPolicy(const Policy &policy, RejectHandler onReject = {});

protected:
    QNetworkReply *createRequest(Operation op, const QNetworkRequest &request, QIODevice *outgoingData) override;
};

/// The errors of a `sslErrors` signal of `reply` that are the application's
/// to judge: without the host-name error that a held handshake of
/// certpin::NetworkAccessManager always carries (certpin checks the real
/// name), and empty when certpin has already accepted the chain and
/// ignored them. An application slot that shows or logs errors, or decides
/// on them, should look at these.
inline QList<QSslError> unhandledSslErrors(const QNetworkReply *reply, const QList<QSslError> &errors);

namespace detail {

/// The message of this thread's last failed certpin call.
inline QString lastError()
{
    const size_t length = pin_last_error(nullptr, 0);
    QByteArray text(static_cast<int>(length) + 1, '\0');
    const size_t written = pin_last_error(text.data(), static_cast<size_t>(text.size()));
    text.truncate(static_cast<int>(written < length ? written : length));
    return QString::fromUtf8(text);
}

/// The host as certpin wants it: ASCII (an A-label for an international
/// name), an IPv6 literal without brackets.
inline QByteArray hostArgument(const QString &host)
{
    QString h = host;
    if (h.startsWith(QLatin1Char('[')) && h.endsWith(QLatin1Char(']')))
        h = h.mid(1, h.size() - 2);
    for (const QChar c : h) {
        if (c.unicode() > 0x7f) {
            // A name QUrl cannot convert is passed on as is, and certpin
            // refuses it with a precise error.
            const QByteArray ace = QUrl::toAce(h);
            return ace.isEmpty() ? h.toUtf8() : ace;
        }
    }
    return h.toLatin1();
}


/// Reads the anchor files of a policy kept in Qt resources, for
/// pin_policy_load_json_with_reader: a relative name is taken from the
/// policy's own resource folder, an absolute one (":/…", "/…") as it is.
class AnchorReader {
public:
    explicit AnchorReader(const QString &folder) : m_folder(folder) {}

    static const uint8_t *read(void *userdata, const char *path, size_t *length) noexcept
    {
        try {
            auto *reader = static_cast<AnchorReader *>(userdata);
            const QString name = QFile::decodeName(QByteArray(path));
            const bool absolute = name.startsWith(QLatin1Char(':')) || QFileInfo(name).isAbsolute();
            QFile file(absolute ? name : reader->m_folder + QLatin1Char('/') + name);
            if (!file.open(QIODevice::ReadOnly))
                return nullptr;
            reader->m_data = file.readAll();
            *length = static_cast<size_t>(reader->m_data.size());
            return reinterpret_cast<const uint8_t *>(reader->m_data.constData());
        } catch (...) {
            return nullptr; // certpin says the file could not be read
        }
    }

private:
    QString m_folder;
    /// The file last read: certpin copies it before asking for the next one.
    QByteArray m_data;
};

/// What one of Qt's TLS backends reports for a chain whose anchor Qt does
/// not know (a pinned self-signed server, a private CA) and that it found
/// nothing else wrong with. README, "Qt's TLS backends", has each case and
/// the place in Qt's sources it comes from.
struct BackendErrors {
    /// The backend's name, as QSslSocket::activeBackend() gives it.
    const char *backend;
    /// Those errors; NoError fills the rest.
    QSslError::SslError unknownAnchor[4];

    bool explains(QSslError::SslError error) const noexcept
    {
        for (const QSslError::SslError expected : unknownAnchor) {
            if (error != QSslError::NoError && error == expected)
                return true;
        }
        return false;
    }
};

/// The row of `backend`; null for a backend certpin does not know. Such a
/// backend gets only what is safe on every backend ignored, and no error
/// is in every row: only the host-name error that certpin checked itself
/// (see overridable()). Everything else (expiry, a bad signature,
/// revocation, an explicitly distrusted certificate, ...) stands on every
/// backend.
inline const BackendErrors *backendErrors(const QString &backend)
{
    static constexpr BackendErrors table[] = {
        // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, _SELF_SIGNED_CERT_IN_CHAIN,
        // _UNABLE_TO_GET_ISSUER_CERT_LOCALLY, _UNABLE_TO_VERIFY_LEAF_SIGNATURE.
        {"openssl",
         {QSslError::SelfSignedCertificate, QSslError::SelfSignedCertificateInChain,
          QSslError::UnableToGetLocalIssuerCertificate, QSslError::UnableToVerifyFirstCertificate}},
        // CERT_TRUST_IS_UNTRUSTED_ROOT, CERT_TRUST_IS_SELF_SIGNED on a
        // certificate that is not a CA, CERT_TRUST_IS_PARTIAL_CHAIN.
        {"schannel",
         {QSslError::CertificateUntrusted, QSslError::SelfSignedCertificate,
          QSslError::UnableToGetIssuerCertificate, QSslError::NoError}},
        // Every failure of SecTrustEvaluate() is this one error, also for
        // what certpin does not check (revocation; SECURITY.md).
        {"securetransport",
         {QSslError::CertificateUntrusted, QSslError::NoError, QSslError::NoError, QSslError::NoError}},
    };
    for (const BackendErrors &row : table) {
        if (backend == QLatin1String(row.backend))
            return &row;
    }
    return nullptr;
}

/// The name of the TLS backend Qt's sockets use. Qt 6 picks one at run
/// time; Qt 5 has the one it was built with (Schannel and SecureTransport
/// replace OpenSSL when configured; WinRT has a backend of its own).
inline QString activeTlsBackend()
{
#if QT_VERSION >= QT_VERSION_CHECK(6, 1, 0)
    return QSslSocket::activeBackend();
#elif QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
    return QString(); // not said: fail closed
#elif QT_CONFIG(schannel)
    return QStringLiteral("schannel");
#elif QT_CONFIG(securetransport)
    return QStringLiteral("securetransport");
#elif defined(Q_OS_WINRT)
    return QStringLiteral("winrt");
#else
    return QStringLiteral("openssl");
#endif
}

/// Whether every one of Qt's `errors`, from the TLS backend `backend`, may
/// be ignored given certpin's verdict: only when certpin vouched for the
/// chain, only errors that an anchor Qt does not know explains on that
/// backend, and a host-name error (every backend checks the name the same
/// way, in QSslSocketPrivate::isMatchingHostname) only when certpin checked
/// the name.
inline bool overridable(const QList<QSslError> &errors, const Verdict &verdict, const QString &backend)
{
    if (errors.isEmpty() || !verdict.vouched())
        return false;
    const BackendErrors *expected = backendErrors(backend);
    for (const QSslError &e : errors) {
        if (e.error() == QSslError::HostNameMismatch && verdict.nameVerified())
            continue;
        if (expected && expected->explains(e.error()))
            continue;
        return false;
    }
    return true;
}

/// The same for the backend Qt's sockets use.
inline bool overridable(const QList<QSslError> &errors, const Verdict &verdict)
{
    return overridable(errors, verdict, activeTlsBackend());
}

/// Aborts a reply or socket when it goes out of scope: after the rejection
/// handler has run, and also when the handler throws, so that a rejection
/// can never be skipped.
template <typename Target> class AbortOnExit {
public:
    explicit AbortOnExit(Target *target) : m_target(target) {}
    AbortOnExit(const AbortOnExit &) = delete;
    AbortOnExit &operator=(const AbortOnExit &) = delete;
    ~AbortOnExit() { abort(m_target.data()); }

private:
    static void abort(QNetworkReply *reply)
    {
        if (!reply || reply->isFinished())
            return;
        // QNetworkReply::abort() tells Qt's network thread to drop the
        // request only after it has run the application's error and
        // finished slots; a slot that disconnects the reply (as QML's
        // XMLHttpRequest does) cuts that off, and the request goes out. So
        // that thread is told first (Qt's HTTP reply has this signal; a
        // reply without it has no network thread to tell).
        QMetaObject::invokeMethod(reply, "abortHttpRequest", Qt::DirectConnection);
        reply->abort();
    }
    static void abort(QSslSocket *socket)
    {
        if (socket)
            socket->abort();
    }

    QPointer<Target> m_target;
};

/// The origin a URL's connection serves: "https://host:port" (scheme and
/// host lower case, the port always written). Qt's connection cache keys
/// its connections by no less than this, so replies of one origin are the
/// ones that may share a connection.
inline QString originOf(const QUrl &url)
{
    QString scheme = url.scheme().toLower();
    if (scheme.startsWith(QLatin1String("preconnect-")))
        scheme = scheme.mid(11);
    return scheme + QLatin1String("://") + url.host(QUrl::FullyEncoded).toLower() + QLatin1Char(':')
        + QString::number(url.port(scheme == QLatin1String("http") ? 80 : 443));
}

/// Whether `url` is fetched over TLS (preconnections included).
inline bool isTls(const QUrl &url)
{
    const QString scheme = url.scheme();
    return scheme.compare(QLatin1String("https"), Qt::CaseInsensitive) == 0
        || scheme.compare(QLatin1String("preconnect-https"), Qt::CaseInsensitive) == 0;
}

/// The verdict for a request certpin cannot check.
inline Verdict synchronousRefused()
{
    Verdict verdict;
    verdict.valid = true;
    verdict.result = PIN_ERR_REJECTED_OTHER;
    verdict.message = QStringLiteral(
        "PIN_ERR_REJECTED_OTHER: a synchronous request (QNetworkRequest::SynchronousRequestAttribute) cannot be "
        "pinned: Qt sends it without the `encrypted` signal certpin checks the chain in. Make it asynchronous.");
    return verdict;
}

/// The name a held handshake verifies in place of the real one (see
/// certpin::NetworkAccessManager): under the reserved top-level domain `.invalid`, with
/// 128 random bits, so no certificate can list it and Qt always reports a
/// host-name error, which stops the handshake until certpin has judged it.
inline const QString &heldName()
{
    static const QString name = [] {
        QString text = QStringLiteral("certpin-");
        for (int i = 0; i < 4; ++i)
            text += QString::number(QRandomGenerator::system()->generate(), 16).rightJustified(8, QLatin1Char('0'));
        return text + QStringLiteral(".invalid");
    }();
    return name;
}

/// Whether a connection to `host` must wait for certpin's verdict before it
/// may carry a request: `policy` can reject its chain, and checks its name
/// itself when it accepts (so Qt's own name check may be set aside). Hosts
/// whose chains certpin always accepts (an unlisted host under "allow", a
/// report-only rule) are left to Qt; so is a rule with "verify_hostname":
/// false, whose connections are judged in `encrypted` only.
inline bool holdsHandshake(const Policy &policy, const QString &host)
{
    if (!policy.isValid())
        return true; // every chain is rejected
    uint32_t flags = 0;
    const QByteArray name = hostArgument(host);
    if (pin_policy_host_flags(policy.handle(), name.constData(), &flags) != PIN_OK)
        return true; // no rule and "unlisted_hosts": "reject", or a host certpin refuses
    const auto has = [flags](pin_flag bit) { return (flags & static_cast<uint32_t>(bit)) != 0; };
    return has(PIN_FLAG_VOUCHED) && has(PIN_FLAG_NAME_VERIFIED) && !has(PIN_FLAG_REPORT_ONLY);
}

/// Dynamic properties of a reply: its handshake is held (see
/// certpin::NetworkAccessManager); certpin accepted the chain in `sslErrors`
/// and ignored Qt's errors.
constexpr const char *kHeldHandshake = "certpin.heldHandshake";
constexpr const char *kSslErrorsHandled = "certpin.sslErrorsHandled";

/// Replaces the request a reply shows (QNetworkReply::setRequest is protected).
struct ReplyRequest : QNetworkReply {
    static void set(QNetworkReply *reply, const QNetworkRequest &request)
    {
        (reply->*(&ReplyRequest::setRequest))(request);
    }
};

/// The guard of type `Guard` that pinning made a child of `owner`, if any.
/// The guards have no Q_OBJECT (the header needs no moc), so they are found
/// by name and type, not by qobject_cast.
template <typename Guard> Guard *guardOf(const QObject *owner)
{
    for (QObject *child : owner->children()) {
        if (child->objectName() == QLatin1String(Guard::kName)) {
            if (auto *guard = dynamic_cast<Guard *>(child))
                return guard;
        }
    }
    return nullptr;
}

/// The guard of type `Guard` on `owner`, made if there is none yet.
template <typename Guard, typename Owner> Guard *guardFor(Owner *owner)
{
    Guard *guard = guardOf<Guard>(owner);
    return guard ? guard : new Guard(owner);
}

/// The dynamic property holding the verdict that refused an object: a
/// QVariantList (result, flags, message).
constexpr const char *kVerdict = "certpin.verdict";

/// Records on `object` the verdict that refused it, for verdictOf().
inline void recordVerdict(QObject *object, const Verdict &verdict)
{
    if (object && !object->property(kVerdict).isValid())
        object->setProperty(kVerdict, QVariantList{static_cast<int>(verdict.result), verdict.flags, verdict.message});
}

/// Sets a reply's error string (QNetworkReply::setErrorString is protected).
struct ReplyErrorText : QNetworkReply {
    static void set(QNetworkReply *reply, const QString &text) { (reply->*(&ReplyErrorText::setErrorString))(text); }
};

class ManagerGuard;

/// The proxy factory of a pinned manager: the one place where Qt asks the
/// application about a request, synchronously and before it creates or
/// reuses a connection for it (QNetworkReplyHttpImpl asks for the proxy of
/// every request, and of every redirect, in the manager's thread). It answers
/// as the manager would have without it (the proxy set on the manager, else
/// the application's proxy factory), except for a request certpin refuses:
/// then it offers only a proxy Qt cannot use for it, and Qt finishes the
/// reply with an error without opening, or writing to, any connection.
class RequestGate : public QNetworkProxyFactory {
public:
    RequestGate(ManagerGuard *guard, const QNetworkProxy &proxy);
    RequestGate(const RequestGate &) = delete;
    RequestGate &operator=(const RequestGate &) = delete;
    ~RequestGate() override;

    QList<QNetworkProxy> queryProxy(const QNetworkProxyQuery &query) override;

    /// Hands the application's own factory to the gate, which asks it from
    /// then on and deletes it when it goes.
    void adopt(QNetworkProxyFactory *inner) { m_inner.reset(inner); }

private:
    /// Null once the guard is gone: the manager deletes its children before
    /// its proxy factory.
    QPointer<ManagerGuard> m_guard;
    QNetworkProxy m_proxy;
    std::unique_ptr<QNetworkProxyFactory> m_inner;
};

/// The pinning state of one QNetworkAccessManager, a child of it. A QObject
/// without Q_OBJECT: it only overrides a virtual and is a context for lambdas.
///
/// What it guarantees, and how:
///  - A connection is checked in `encrypted` (before any request byte) and
///    in `sslErrors`; every reply is checked again when its headers arrive
///    (a reused connection never emits `encrypted` again).
///  - Once certpin rejects a connection, its origin is quarantined: every
///    unfinished reply to it is aborted, and every later request to it is
///    refused by the RequestGate before Qt can put it on the rejected
///    connection (which an HTTP/2 connection, or a queued HTTP/1.1 request,
///    would do without a new handshake). The quarantine ends when the
///    connection cache is cleared, as soon as the manager is idle.
///  - Synchronous requests are refused by the gate: Qt sends them without
///    emitting `encrypted`.
class ManagerGuard : public QObject {
public:
    using RejectHandler = std::function<void(QNetworkReply *, const Verdict &)>;

    static constexpr const char *kName = "certpin::ManagerGuard";

    explicit ManagerGuard(QNetworkAccessManager *manager) : QObject(manager), m_manager(manager)
    {
        setObjectName(QLatin1String(kName));
        QObject::connect(
            manager, &QNetworkAccessManager::encrypted, this, [this](QNetworkReply *reply) { onEncrypted(reply); },
            Qt::DirectConnection);
        QObject::connect(
            manager, &QNetworkAccessManager::sslErrors, this,
            [this](QNetworkReply *reply, const QList<QSslError> &errors) { onSslErrors(reply, errors); },
            Qt::DirectConnection);
        for (QNetworkReply *reply : manager->findChildren<QNetworkReply *>(QString(), Qt::FindDirectChildrenOnly)) {
            m_children.append(QPointer<QObject>(reply));
            hook(reply);
        }
        manager->installEventFilter(this);
        guardRequests();
    }


    const Policy &policy() const noexcept { return m_policy; }

    void setPolicy(const Policy &policy, RejectHandler onReject)
    {
        m_policy = policy;
        m_onReject = std::move(onReject);
        // Connections opened under the previous policy (or before pinning)
        // must not carry further requests unchecked.
        m_clearPending = true;
        if (!busy())
            clearConnections();
    }

    /// Replaces the policy and keeps the rejection handler (a policy update).
    void replacePolicy(const Policy &policy)
    {
        RejectHandler kept = m_onReject;
        setPolicy(policy, std::move(kept));
    }

    /// Sets the application's proxy factory behind the gate (see
    /// certpin::setProxyFactory).
    void setProxyFactory(QNetworkProxyFactory *factory)
    {
        guardRequests();
        if (m_gate)
            m_gate->adopt(factory);
        else
            m_manager->setProxyFactory(factory);
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (watched == m_manager && event->type() == QEvent::ChildAdded) {
            // A reply is being constructed (only its QObject part exists); Qt
            // asks the gate about its request before the constructor returns,
            // so the gate must be in place now (the application may have set
            // a proxy since, which replaces it).
            QPointer<QObject> child(static_cast<QChildEvent *>(event)->child());
            if (child && child != this) {
                guardRequests();
                prune();
                m_children.append(child);
                m_constructing = child;
                // Hooked once control is back in the event loop, which is
                // before any of the reply's network events are delivered.
                QMetaObject::invokeMethod(
                    this,
                    [this, child] {
                        if (m_constructing == child)
                            m_constructing.clear();
                        if (auto *reply = qobject_cast<QNetworkReply *>(child.data())) {
                            hook(reply);
                            // A request with a body starts later, from the
                            // event loop: the gate refuses it then, and cannot
                            // tell which reply it was.
                            const auto quarantined = m_quarantine.constFind(originOf(reply->url()));
                            if (quarantined != m_quarantine.constEnd() && !reply->isFinished())
                                explainRefusal(reply, quarantined.value());
                        }
                    },
                    Qt::QueuedConnection);
            }
        }
        return QObject::eventFilter(watched, event);
    }

    /// The gate's question: may a request to `url` go out? When not, the
    /// reply being made for it learns why.
    bool refuses(const QUrl &url)
    {
        if (!isTls(url))
            return false;
        auto *reply = qobject_cast<QNetworkReply *>(m_constructing.data());
        if (reply && (reply->isFinished() || reply->url() != url))
            reply = nullptr;
        Verdict verdict;
        if (reply && reply->request().attribute(QNetworkRequest::SynchronousRequestAttribute).toBool()) {
            verdict = synchronousRefused();
        } else {
            const auto quarantined = m_quarantine.constFind(originOf(url));
            if (quarantined == m_quarantine.constEnd())
                return false;
            verdict = quarantined.value();
        }
        if (reply)
            explainRefusal(reply, verdict);
        return true;
    }

    /// Called by the gate as the manager deletes it (the application set
    /// another proxy or proxy factory): the next reply installs a new one.
    void gateGone(RequestGate *gate)
    {
        if (m_gate == gate)
            m_gate = nullptr;
    }

private:
    /// Puts the RequestGate in front of the manager's proxy settings, keeping
    /// them: the proxy set on the manager is what the gate answers with.
    void guardRequests()
    {
        if (m_gate && m_manager->proxyFactory() == m_gate)
            return;
        m_gate = nullptr;
        if (QNetworkProxyFactory *own = m_manager->proxyFactory()) {
            // The application's factory cannot be wrapped: the manager
            // deletes the factory it replaces.
            if (!m_foreignWarned) {
                m_foreignWarned = true;
                qWarning("certpin: %s has its own QNetworkProxyFactory %p; requests to a rejected origin and "
                         "synchronous requests cannot be refused before they are sent. Set the factory with "
                         "certpin::setProxyFactory() instead.",
                         qPrintable(m_manager->objectName().isEmpty() ? QStringLiteral("a QNetworkAccessManager")
                                                                      : m_manager->objectName()),
                         static_cast<void *>(own));
            }
            return;
        }
        auto *gate = new RequestGate(this, m_manager->proxy());
        m_manager->setProxyFactory(gate);
        m_gate = gate;
    }

    /// The refused reply finishes with Qt's error (no proxy for the request),
    /// whose text is replaced by certpin's, and the application's handler is
    /// told just before, as for every rejection.
    void explainRefusal(QNetworkReply *reply, const Verdict &verdict)
    {
        static const char *const kExplained = "certpin.refusalExplained";
        if (reply->property(kExplained).toBool())
            return;
        reply->setProperty(kExplained, true);
        onFirstError(reply, [this, verdict](QNetworkReply *failed, QNetworkReply::NetworkError error) {
            // Only the gate's refusal: a reply whose quarantine ended
            // before it started fails, if it fails, for its own reasons.
            if (error != QNetworkReply::ProxyNotFoundError)
                return;
            ReplyErrorText::set(failed, verdict.message);
            recordVerdict(failed, verdict);
            const RejectHandler onReject = m_onReject;
            if (onReject)
                onReject(failed, verdict);
        });
    }

    /// The reply is about to fail (Qt's "Operation canceled" for an abort,
    /// its handshake error for a refused held handshake): its errorString()
    /// becomes certpin's message, before `finished`.
    void explainFailure(QNetworkReply *reply, const Verdict &verdict)
    {
        const QString message = verdict.message;
        onFirstError(reply, [message](QNetworkReply *failed, QNetworkReply::NetworkError) {
            ReplyErrorText::set(failed, message);
        });
    }

    /// Runs `then` once, for the first error `reply` reports (in the slot,
    /// before `finished`).
    void onFirstError(QNetworkReply *reply, std::function<void(QNetworkReply *, QNetworkReply::NetworkError)> then)
    {
        auto once = std::make_shared<QMetaObject::Connection>();
        const QPointer<QNetworkReply> guarded(reply);
        *once = QObject::connect(
            reply, &QNetworkReply::errorOccurred, this,
            [guarded, once, then](QNetworkReply::NetworkError error) {
                QObject::disconnect(*once);
                if (guarded)
                    then(guarded.data(), error);
            },
            Qt::DirectConnection);
    }

    void hook(QNetworkReply *reply)
    {
        QPointer<QNetworkReply> guarded(reply);
        QObject::connect(
            reply, &QNetworkReply::metaDataChanged, this,
            [this, guarded] {
                if (guarded)
                    recheck(guarded.data());
            },
            Qt::DirectConnection);
        QObject::connect(reply, &QNetworkReply::finished, this, [this] { scheduleClear(); });
        QObject::connect(reply, &QObject::destroyed, this, [this] { scheduleClear(); });
    }

    /// The chain of `reply`'s connection, checked for its host.
    Verdict verify(QNetworkReply *reply) const
    {
        const QUrl url = reply->url();
        return m_policy.verify(reply->sslConfiguration().peerCertificateChain(), url.host(QUrl::FullyEncoded),
                               static_cast<quint16>(url.port(443)));
    }

    void onEncrypted(QNetworkReply *reply)
    {
        // Checked even when the reply is finished (aborted by the application
        // or as a sibling, before its connection was up): Qt emits
        // `encrypted` for one reply per connection, and the others queued for
        // that connection go out on it next.
        const Verdict verdict = verify(reply);
        if (!verdict.ok())
            reject(reply, verdict);
    }

    /// For a held handshake (see certpin::NetworkAccessManager) `errors` holds a host-name error for
    /// the held name: ignored, like a real one, only when certpin accepted
    /// the chain and checked the host name.
    void onSslErrors(QNetworkReply *reply, const QList<QSslError> &errors)
    {
        const Verdict verdict = verify(reply);
        if (!verdict.ok() && reply->property(kHeldHandshake).toBool())
            refuseHandshake(reply, verdict);
        else if (!verdict.ok())
            reject(reply, verdict);
        else if (overridable(errors, verdict)) {
            reply->setProperty(kSslErrorsHandled, true);
            reply->ignoreSslErrors(errors);
        }
    }

    /// The backstop for a reply on a reused connection, which `encrypted`
    /// never saw: its headers have arrived, its body has not reached the
    /// application yet.
    void recheck(QNetworkReply *reply)
    {
        if (reply->isFinished() || !isTls(reply->url()))
            return;
        // A reply from QNetworkDiskCache has no connection and no chain: Qt
        // marks it as from the cache, or (AlwaysCache) serves it through a
        // reply that never had a TLS configuration at all.
        if (reply->attribute(QNetworkRequest::SourceIsFromCacheAttribute).toBool()
            || reply->sslConfiguration().isNull())
            return;
        const Verdict verdict = verify(reply);
        if (!verdict.ok())
            reject(reply, verdict);
    }

    /// Refuses a held handshake (see certpin::NetworkAccessManager): certpin
    /// leaves Qt's errors standing, so Qt ends the handshake and fails every
    /// reply waiting for the connection itself; aborting them as well would
    /// make Qt report two errors for each. Later requests to the origin are
    /// refused by the quarantine; those waiting for other connections of it
    /// have handshakes of their own, held too.
    void refuseHandshake(QNetworkReply *reply, const Verdict &verdict)
    {
        quarantine(reply->url(), verdict);
        recordVerdict(reply, verdict);
        explainFailure(reply, verdict);
        m_clearPending = true;
        const RejectHandler onReject = m_onReject;
        if (onReject && !reply->isFinished())
            onReject(reply, verdict);
        scheduleClear();
    }

    /// Quarantines the origin of `url`; the verdict given to the replies
    /// refused for it.
    Verdict quarantine(const QUrl &url, const Verdict &verdict)
    {
        Verdict quarantined = verdict;
        quarantined.message += QStringLiteral(" (refused before it was sent: certpin rejected the connection to ")
            + originOf(url) + QStringLiteral(" moments ago)");
        m_quarantine.insert(originOf(url), quarantined);
        return quarantined;
    }

    /// Rejects the connection `reply` came on: quarantines its origin, then
    /// aborts the reply and every unfinished reply to the same origin, which
    /// may share the connection (HTTP/2) or wait for it (HTTP/1.1).
    void reject(QNetworkReply *reply, const Verdict &verdict)
    {
        const QUrl url = reply->url();
        const Verdict quarantined = quarantine(url, verdict);
        QList<QPointer<QNetworkReply>> doomed{QPointer<QNetworkReply>(reply)};
        for (const QPointer<QObject> &child : m_children) {
            auto *other = qobject_cast<QNetworkReply *>(child.data());
            if (other && other != reply && !other->isFinished() && originOf(other->url()) == originOf(url))
                doomed.append(QPointer<QNetworkReply>(other));
        }
        // The rejected connection may still be cached (an HTTP/2 connection
        // outlives its aborted streams): drop it once nothing is under way.
        m_clearPending = true;
        // The handler runs first, so that the application's `finished` slot,
        // which abort() calls, can already see what the handler recorded. A
        // request the handler or that slot makes to the origin is refused by
        // the gate.
        const RejectHandler onReject = m_onReject;
        for (const QPointer<QNetworkReply> &r : doomed) {
            if (!r || r->isFinished())
                continue;
            const Verdict &why = r == reply ? verdict : quarantined;
            recordVerdict(r.data(), why);
            explainFailure(r.data(), why);
            const AbortOnExit<QNetworkReply> abort(r.data());
            if (onReject)
                onReject(r.data(), why);
        }
        scheduleClear();
    }

    void prune() { m_children.removeAll(QPointer<QObject>()); }

    /// Whether a reply of the manager is unfinished. Clearing the connection
    /// cache then would leave it never starting and never finishing.
    bool busy() const
    {
        for (const QPointer<QObject> &child : m_children) {
            auto *reply = qobject_cast<QNetworkReply *>(child.data());
            if (reply && !reply->isFinished())
                return true;
        }
        return false;
    }

    /// Clears the connection cache once the manager is idle, from the event
    /// loop: never inside a TLS slot, where Qt's network thread waits for us
    /// and clearing would block.
    void scheduleClear()
    {
        if (!m_clearPending || m_clearScheduled)
            return;
        m_clearScheduled = true;
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_clearScheduled = false;
                if (m_clearPending && !busy())
                    clearConnections();
            },
            Qt::QueuedConnection);
    }

    /// Closes every connection of the manager; a rejected one is gone with
    /// them, and with it the reason for its quarantine.
    void clearConnections()
    {
        m_clearPending = false;
        m_manager->clearConnectionCache();
        m_quarantine.clear();
    }

    QNetworkAccessManager *m_manager;
    Policy m_policy;
    RejectHandler m_onReject;
    /// The manager's proxy factory while it is ours (the manager owns it).
    RequestGate *m_gate = nullptr;
    bool m_foreignWarned = false;
    /// The reply being constructed, whose request the gate is asked about.
    QPointer<QObject> m_constructing;
    /// Rejected origins and the verdict that rejected each.
    QHash<QString, Verdict> m_quarantine;
    /// The manager's children seen since pinning was installed; the replies
    /// among them are the ones pinning watches.
    QList<QPointer<QObject>> m_children;
    bool m_clearPending = false;
    bool m_clearScheduled = false;
};

inline RequestGate::RequestGate(ManagerGuard *guard, const QNetworkProxy &proxy) : m_guard(guard), m_proxy(proxy) {}

inline RequestGate::~RequestGate()
{
    if (ManagerGuard *guard = m_guard.data())
        guard->gateGone(this);
}

inline QList<QNetworkProxy> RequestGate::queryProxy(const QNetworkProxyQuery &query)
{
    if (m_guard && m_guard->refuses(query.url())) {
        // Neither a tunnel nor an HTTP caching proxy: Qt finds no usable
        // proxy and fails the request ("No suitable proxy found") at once.
        return {QNetworkProxy(QNetworkProxy::FtpCachingProxy)};
    }
    if (m_inner)
        return m_inner->queryProxy(query);
    if (m_proxy.type() == QNetworkProxy::DefaultProxy)
        return QNetworkProxyFactory::proxyForQuery(query);
    return {m_proxy};
}

/// The pinning state of one QSslSocket, a child of it.
class SocketGuard : public QObject {
public:
    using RejectHandler = std::function<void(const Verdict &)>;

    static constexpr const char *kName = "certpin::SocketGuard";

    explicit SocketGuard(QSslSocket *socket) : QObject(socket), m_socket(socket)
    {
        setObjectName(QLatin1String(kName));
        QObject::connect(
            socket, &QSslSocket::encrypted, this, [this] { check(); }, Qt::DirectConnection);
        QObject::connect(
            socket, QOverload<const QList<QSslError> &>::of(&QSslSocket::sslErrors), this,
            [this](const QList<QSslError> &errors) { onSslErrors(errors); }, Qt::DirectConnection);
    }


    void setPolicy(const Policy &policy, RejectHandler onReject)
    {
        m_policy = policy;
        m_onReject = std::move(onReject);
        // Installed on a socket that is already encrypted: judge it now,
        // unless its connection is over (Qt 5 keeps a closed socket
        // "encrypted", with its peer forgotten: a QWebSocket's old socket).
        if (m_socket->isEncrypted() && m_socket->state() != QAbstractSocket::UnconnectedState)
            check();
    }

    /// Replaces the policy and keeps the rejection handler (a policy update).
    void replacePolicy(const Policy &policy)
    {
        RejectHandler kept = m_onReject;
        setPolicy(policy, std::move(kept));
    }

    /// Another object the refusal is recorded on (the QWebSocket that owns
    /// the socket).
    void alsoRefuses(QObject *owner) { m_alsoRefused = owner; }

private:
    /// The chain checked for the name the socket verifies in this handshake:
    /// the one it was given to verify, else the one it connected to. A
    /// socket may connect to many hosts in its life.
    Verdict verify() const
    {
        const QString name = m_socket->peerVerifyName().isEmpty() ? m_socket->peerName() : m_socket->peerVerifyName();
        return m_policy.verify(m_socket->peerCertificateChain(), name, m_socket->peerPort());
    }

    void check()
    {
        const Verdict verdict = verify();
        if (!verdict.ok())
            reject(verdict);
    }

    void onSslErrors(const QList<QSslError> &errors)
    {
        const Verdict verdict = verify();
        if (!verdict.ok())
            reject(verdict);
        else if (overridable(errors, verdict))
            m_socket->ignoreSslErrors(errors);
    }

    void reject(const Verdict &verdict)
    {
        recordVerdict(m_socket, verdict);
        recordVerdict(m_alsoRefused.data(), verdict);
        const RejectHandler onReject = m_onReject;
        const AbortOnExit<QSslSocket> abort(m_socket);
        if (onReject)
            onReject(verdict);
    }

    QSslSocket *m_socket;
    Policy m_policy;
    RejectHandler m_onReject;
    QPointer<QObject> m_alsoRefused;
};

} // namespace detail

// The public API, defined now that the machinery is.

inline Policy Policy::fromFile(const QString &path, QString *error)
{
    const bool resource = path.startsWith(QLatin1Char(':')) || path.startsWith(QLatin1String("qrc:/"));
    if (resource) {
        const QString name = path.startsWith(QLatin1Char(':')) ? path : path.mid(3);
        QFile file(name);
        if (!file.open(QIODevice::ReadOnly)) {
            Policy unread;
            unread.m_loadResult = PIN_ERR_POLICY_IO;
            unread.m_loadError = QStringLiteral("the pinning policy did not load: PIN_ERR_POLICY_IO: ") + path
                + QStringLiteral(": ") + file.errorString();
            if (error)
                *error = unread.m_loadError;
            return unread;
        }
        const QByteArray json = file.readAll();
        detail::AnchorReader reader(QFileInfo(name).path());
        pin_policy *loaded = nullptr;
        const pin_result r = pin_policy_load_json_with_reader(reinterpret_cast<const uint8_t *>(json.constData()),
                                                              static_cast<size_t>(json.size()),
                                                              &detail::AnchorReader::read, &reader, &loaded);
        return adopt(r, loaded, error);
    }
    const QByteArray encoded = QFile::encodeName(path);
    pin_policy *loaded = nullptr;
    const pin_result r = pin_policy_load_file(encoded.constData(), &loaded);
    return adopt(r, loaded, error);
}

inline Policy Policy::fromJson(const QByteArray &json, QString *error)
{
    pin_policy *loaded = nullptr;
    const pin_result r = pin_policy_load_json(reinterpret_cast<const uint8_t *>(json.constData()),
                                              static_cast<size_t>(json.size()), &loaded);
    return adopt(r, loaded, error);
}

inline Policy Policy::fromPem(const QByteArray &pem, QString *error)
{
    pin_policy *loaded = nullptr;
    const pin_result r = pin_policy_load_pem(reinterpret_cast<const uint8_t *>(pem.constData()),
                                             static_cast<size_t>(pem.size()), &loaded);
    return adopt(r, loaded, error);
}

inline Policy Policy::fromUpdate(const QByteArray &update, const QStringList &trustedKeys, quint64 minSequence,
                                 QString *error)
{
    std::vector<QByteArray> keys;
    keys.reserve(static_cast<size_t>(trustedKeys.size()));
    for (const QString &key : trustedKeys)
        keys.push_back(key.toUtf8());
    std::vector<const char *> pointers;
    pointers.reserve(keys.size());
    for (const QByteArray &key : keys)
        pointers.push_back(key.constData());
    pin_policy *loaded = nullptr;
    const pin_result r = pin_policy_load_update(reinterpret_cast<const uint8_t *>(update.constData()),
                                                static_cast<size_t>(update.size()), pointers.data(),
                                                pointers.size(), minSequence, -1, &loaded, nullptr);
    return adopt(r, loaded, error, QStringLiteral("the signed update was not applied: "));
}

inline quint64 Policy::updateSequence() const
{
    uint64_t sequence = 0;
    if (!m_policy || pin_policy_get_update(m_policy.get(), &sequence, nullptr) != PIN_OK)
        return 0;
    return sequence;
}

inline QDateTime Policy::updateExpiry() const
{
    int64_t expires = 0;
    if (!m_policy || pin_policy_get_update(m_policy.get(), nullptr, &expires) != PIN_OK)
        return {};
    return QDateTime::fromSecsSinceEpoch(expires).toUTC();
}

inline Verdict Policy::verify(const QList<QSslCertificate> &chain, const QString &host, quint16 port) const
{
    Verdict verdict;
    verdict.valid = true;
    if (!m_policy) {
        verdict.result = m_loadResult;
        verdict.message = m_loadError;
        return verdict;
    }
    QByteArray der;
    for (const QSslCertificate &certificate : chain)
        der += certificate.toDer();
    const QByteArray name = detail::hostArgument(host);
    uint32_t flags = 0;
    verdict.result = pin_verify_chain_ex(reinterpret_cast<const uint8_t *>(der.constData()),
                                         static_cast<size_t>(der.size()), m_policy.get(), name.constData(),
                                         port, -1, &flags, &detail::Reporter::queue, nullptr);
    verdict.flags = flags;
    if (!verdict.ok() || (flags & static_cast<uint32_t>(PIN_FLAG_REPORT_ONLY)) != 0)
        verdict.message = detail::lastError();
    return verdict;
}

inline Policy Policy::adopt(pin_result result, pin_policy *loaded, QString *error, const QString &what)
{
    Policy policy;
    if (result == PIN_OK && loaded) {
        policy.m_policy.reset(loaded, pin_policy_free);
        if (error)
            error->clear();
        return policy;
    }
    pin_policy_free(loaded);
    policy.m_loadResult = result == PIN_OK ? PIN_ERR_INTERNAL : result;
    policy.m_loadError = what + detail::lastError();
    if (error)
        *error = policy.m_loadError;
    return policy;
}

inline void install(QNetworkAccessManager *manager, const Policy &policy,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject)
{
    if (manager)
        detail::guardFor<detail::ManagerGuard>(manager)->setPolicy(policy, std::move(onReject));
}

inline void install(QSslSocket *socket, const Policy &policy, std::function<void(const Verdict &)> onReject)
{
    if (socket)
        detail::guardFor<detail::SocketGuard>(socket)->setPolicy(policy, std::move(onReject));
}

inline void install(QSslSocket *socket, const Policy &policy, const QString &host,
                    std::function<void(const Verdict &)> onReject)
{
    Q_UNUSED(host)
    install(socket, policy, std::move(onReject));
}

inline void setProxyFactory(QNetworkAccessManager *manager, QNetworkProxyFactory *factory)
{
    if (!manager)
        return;
    if (auto *guard = detail::guardOf<detail::ManagerGuard>(manager))
        guard->setProxyFactory(factory);
    else
        manager->setProxyFactory(factory);
}

inline Verdict verdictOf(const QObject *object)
{
    Verdict verdict;
    const QVariantList recorded = object ? object->property(detail::kVerdict).toList() : QVariantList();
    if (recorded.size() != 3)
        return verdict;
    verdict.result = static_cast<pin_result>(recorded.at(0).toInt());
    verdict.flags = recorded.at(1).toUInt();
    verdict.message = recorded.at(2).toString();
    verdict.valid = true;
    return verdict;
}

inline NetworkAccessManager::NetworkAccessManager(const Policy &policy, RejectHandler onReject, QObject *parent)
    : QNetworkAccessManager(parent)
{
    install(this, policy, std::move(onReject));
}

inline void NetworkAccessManager::setPolicy(const Policy &policy, RejectHandler onReject)
{
    install(this, policy, std::move(onReject));
}

inline QNetworkReply *NetworkAccessManager::createRequest(Operation op, const QNetworkRequest &request,
                                                          QIODevice *outgoingData)
{
    const detail::ManagerGuard *guard = detail::guardOf<detail::ManagerGuard>(this);
    const QUrl url = request.url();
    const bool held = guard && detail::isTls(url) && request.peerVerifyName().isEmpty()
        && !request.attribute(QNetworkRequest::SynchronousRequestAttribute).toBool()
        && detail::holdsHandshake(guard->policy(), url.host(QUrl::FullyEncoded));
    if (!held)
        return QNetworkAccessManager::createRequest(op, request, outgoingData);
    QNetworkRequest heldRequest(request);
    heldRequest.setPeerVerifyName(detail::heldName());
    QNetworkReply *reply = QNetworkAccessManager::createRequest(op, heldRequest, outgoingData);
    // Qt has taken its copy, which it starts from; what the reply shows,
    // and what a redirect starts from, is the application's request.
    if (reply) {
        detail::ReplyRequest::set(reply, request);
        reply->setProperty(detail::kHeldHandshake, true);
    }
    return reply;
}

inline QList<QSslError> unhandledSslErrors(const QNetworkReply *reply, const QList<QSslError> &errors)
{
    if (!reply)
        return errors;
    if (reply->property(detail::kSslErrorsHandled).toBool())
        return {};
    if (!reply->property(detail::kHeldHandshake).toBool())
        return errors;
    QList<QSslError> rest;
    for (const QSslError &e : errors) {
        if (e.error() != QSslError::HostNameMismatch)
            rest.append(e);
    }
    return rest;
}

} // namespace certpin

// The overloads for the Qt modules the application links.
#if defined(QT_WEBSOCKETS_LIB)
#include "certpin_qt_websockets.hpp"
#endif
#if defined(QT_QML_LIB)
#include "certpin_qt_qml.hpp"
#endif
#if defined(QT_QML_LIB) && defined(QT_WEBSOCKETS_LIB)
// The pinned QML WebSocket type; moc must see this header (see it).
#include "certpin_qt_qml_websocket.hpp"
#endif

#endif // CERTPIN_QT_HPP
