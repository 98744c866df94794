/*
 * certpin_qt.hpp: certificate pinning for Qt network code (Qt 5.15 and Qt 6).
 *
 * Header-only; needs no moc. Link the certpin library (CMake: certpin::certpin).
 *
 *     certpin::Policy policy = certpin::Policy::fromFile("pins.json");
 *     QNetworkAccessManager manager;
 *     certpin::install(&manager, policy, [](QNetworkReply *reply, const certpin::Verdict &v) {
 *         qWarning() << "refused" << reply->url() << v.message;
 *     });
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
 *  - After a rejection every unfinished reply to the same origin is aborted too:
 *    with HTTP/2 they share the rejected connection and would otherwise hang.
 *  - In `sslErrors`, Qt's errors are ignored only when certpin vouched for the
 *    chain itself (PIN_FLAG_VOUCHED: a pinned self-signed server, a private CA
 *    Qt does not know), only the errors that case explains, and a host-name error
 *    only when certpin checked the name (PIN_FLAG_NAME_VERIFIED). A bare PIN_OK
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

#include <QtCore/QByteArray>
#include <QtCore/QChildEvent>
#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEvent>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QIODevice>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QList>
#include <QtCore/QMetaObject>
#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QString>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtNetwork/QNetworkAccessManager>
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

/// Sends RFC 7469 violation reports to the `report_uri` of the rule that was
/// violated. One per process, living in the application's main thread; its
/// QNetworkAccessManager is its own, made when the first report goes out, and
/// pinning is never installed on it: a report about a blocked host must get
/// out. A QObject without Q_OBJECT: a context for queued calls.
///
/// The report callback runs inside Qt's TLS slots, where Qt's network thread
/// waits: it only copies the report and queues it. Everything else happens
/// later, in the reporter's thread:
///  - an identical report (same URI, host, port, served chain and result) is
///    sent at most once per kQuietMs, remembered in a bounded table; the key
///    is recorded when the report is queued, so a failed post is not retried;
///  - reports go out one at a time, in order, each bounded by kTimeoutMs, and
///    at most kMaxQueued wait: a flood of distinct violations cannot grow
///    memory or connections without bound;
///  - a failure is dropped quietly; every reply is deleted once finished.
class Reporter : public QObject {
public:
    /// The reporter's object name; it is a child of QCoreApplication.
    static constexpr const char *kName = "certpin::Reporter";
    /// The object name of the reporter's QNetworkAccessManager.
    static constexpr const char *kManagerName = "certpin::ReportManager";
    /// How long an identical report is not sent again: a day, as browsers did
    /// for HPKP reports.
    static constexpr qint64 kQuietMs = qint64(24) * 60 * 60 * 1000;
    /// How many distinct reports are remembered for kQuietMs.
    static constexpr int kMaxRemembered = 1024;
    /// How many reports may wait to be sent; beyond that they are dropped.
    static constexpr int kMaxQueued = 64;
    /// How long one post may take.
    static constexpr int kTimeoutMs = 30000;

    /// A pin_report_fn. Runs inside Qt's TLS slots: copies and queues, never
    /// blocks, never throws into certpin.
    static void queue(void *, const char *uri, const char *report, size_t length) noexcept
    {
        try {
            if (!uri || !report || length > static_cast<size_t>(std::numeric_limits<int>::max()))
                return;
            dispatch(QByteArray(uri), QByteArray(report, static_cast<int>(length)));
        } catch (...) {
            // A report that cannot even be copied is dropped: reporting never
            // changes the verdict.
        }
    }

    ~Reporter() override
    {
        const QMutexLocker lock(&mutex());
        if (current() == this)
            current() = nullptr;
    }

private:
    struct Queued {
        QByteArray uri;
        QByteArray report;
    };

    Reporter() : QObject(nullptr)
    {
        setObjectName(QLatin1String(kName));
        m_clock.start();
    }

    static QMutex &mutex()
    {
        static QMutex instanceMutex;
        return instanceMutex;
    }
    static Reporter *&current()
    {
        static Reporter *instance = nullptr;
        return instance;
    }

    /// Hands a report to the reporter's thread, making the reporter first if
    /// there is none.
    static void dispatch(const QByteArray &uri, const QByteArray &report)
    {
        QCoreApplication *application = QCoreApplication::instance();
        if (!application)
            return;
        const QMutexLocker lock(&mutex());
        Reporter *reporter = current();
        if (!reporter) {
            // Made in the thread of a slot, it lives where the application
            // does, and goes first when the application goes: a network
            // manager outliving QCoreApplication makes Qt complain at exit.
            reporter = new Reporter;
            if (reporter->thread() != application->thread())
                reporter->moveToThread(application->thread()); // adopted in accept()
            else
                reporter->setParent(application);
            current() = reporter;
            qAddPostRoutine(&Reporter::destroy);
        }
        // Under the lock: the reporter cannot be deleted before the call is
        // queued, and a queued call dies with its object.
        QMetaObject::invokeMethod(
            reporter, [reporter, uri, report] { reporter->accept(uri, report); }, Qt::QueuedConnection);
    }

    /// What makes two reports identical: the URI, the host, the port, the
    /// served chain and the result; never the time.
    static QByteArray keyOf(const QByteArray &uri, const QByteArray &report)
    {
        QCryptographicHash hash(QCryptographicHash::Sha256);
        const auto add = [&hash](const QByteArray &part) {
            hash.addData(QByteArray::number(part.size()) + ':');
            hash.addData(part);
        };
        add(uri);
        const QJsonDocument document = QJsonDocument::fromJson(report);
        if (!document.isObject()) {
            add(report);
            return hash.result();
        }
        const QJsonObject fields = document.object();
        add(fields.value(QLatin1String("hostname")).toString().toUtf8());
        add(QByteArray::number(fields.value(QLatin1String("port")).toInt()));
        add(fields.value(QLatin1String("certpin-result")).toString().toUtf8());
        const QJsonArray served = fields.value(QLatin1String("served-certificate-chain")).toArray();
        for (const QJsonValue certificate : served)
            add(certificate.toString().toUtf8());
        return hash.result();
    }

    /// Runs as QCoreApplication is destroyed, in its thread.
    static void destroy()
    {
        Reporter *reporter = nullptr;
        {
            const QMutexLocker lock(&mutex());
            reporter = current();
        }
        delete reporter;
    }

    void accept(const QByteArray &uri, const QByteArray &report)
    {
        QCoreApplication *application = QCoreApplication::instance();
        if (!parent() && application && application->thread() == thread())
            setParent(application);
        const QByteArray key = keyOf(uri, report);
        const qint64 now = m_clock.elapsed();
        const auto sent = m_sent.constFind(key);
        if (sent != m_sent.constEnd() && now - sent.value() < kQuietMs)
            return;
        if (m_queue.size() >= kMaxQueued)
            return; // dropped, and not remembered: a later one may go
        remember(key, now);
        m_queue.append(Queued{uri, report});
        sendNext();
    }

    void remember(const QByteArray &key, qint64 now)
    {
        if (m_sent.size() >= kMaxRemembered && !m_sent.contains(key)) {
            for (auto it = m_sent.begin(); it != m_sent.end();) {
                if (now - it.value() >= kQuietMs)
                    it = m_sent.erase(it);
                else
                    ++it;
            }
            if (m_sent.size() >= kMaxRemembered) {
                auto oldest = m_sent.begin();
                for (auto it = m_sent.begin(); it != m_sent.end(); ++it) {
                    if (it.value() < oldest.value())
                        oldest = it;
                }
                m_sent.erase(oldest);
            }
        }
        m_sent.insert(key, now);
    }

    void sendNext()
    {
        while (!m_sending && !m_queue.isEmpty()) {
            const Queued next = m_queue.takeFirst();
            const QUrl target(QString::fromUtf8(next.uri), QUrl::StrictMode);
            const QString scheme = target.scheme().toLower();
            if (!target.isValid() || (scheme != QLatin1String("https") && scheme != QLatin1String("http")))
                continue;
            if (!m_manager) {
                m_manager = new QNetworkAccessManager(this);
                m_manager->setObjectName(QLatin1String(kManagerName));
            }
            QNetworkRequest request(target);
            request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
            request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
            request.setAttribute(QNetworkRequest::CacheSaveControlAttribute, false);
            request.setTransferTimeout(kTimeoutMs);
            QNetworkReply *reply = m_manager->post(request, next.report);
            m_sending = true;
            QObject::connect(reply, &QNetworkReply::finished, this, [this, reply] {
                reply->deleteLater();
                m_sending = false;
                sendNext();
            });
        }
    }

    QElapsedTimer m_clock;
    /// Report key -> when it was last queued (m_clock).
    QHash<QByteArray, qint64> m_sent;
    QList<Queued> m_queue;
    bool m_sending = false;
    QNetworkAccessManager *m_manager = nullptr;
};

} // namespace detail

/// A loaded pinning policy. Copies share one immutable certpin policy, which
/// may be used from any thread. A policy that failed to load rejects every
/// chain with the error of the load: pinning fails closed.
class Policy {
public:
    /// An empty policy: rejects everything.
    Policy() = default;

    /// Loads a JSON policy file (anchors that are file paths are relative to
    /// its folder). A Qt resource (":/pins.json", "qrc:/pins.json") is read
    /// through QFile and loaded as fromJson() loads it, so its anchors belong
    /// inline, as PEM text.
    static Policy fromFile(const QString &path, QString *error = nullptr)
    {
        if (path.startsWith(QLatin1Char(':')) || path.startsWith(QLatin1String("qrc:/"))) {
            QFile file(path.startsWith(QLatin1Char(':')) ? path : path.mid(3));
            if (!file.open(QIODevice::ReadOnly)) {
                Policy unread;
                unread.m_loadResult = PIN_ERR_POLICY_IO;
                unread.m_loadError = QStringLiteral("the pinning policy did not load: PIN_ERR_POLICY_IO: ") + path
                    + QStringLiteral(": ") + file.errorString();
                if (error)
                    *error = unread.m_loadError;
                return unread;
            }
            return fromJson(file.readAll(), error);
        }
        const QByteArray encoded = QFile::encodeName(path);
        pin_policy *loaded = nullptr;
        const pin_result r = pin_policy_load_file(encoded.constData(), &loaded);
        return adopt(r, loaded, error);
    }

    /// Loads a JSON policy from memory (relative anchor paths are relative to
    /// the working directory).
    static Policy fromJson(const QByteArray &json, QString *error = nullptr)
    {
        pin_policy *loaded = nullptr;
        const pin_result r = pin_policy_load_json(reinterpret_cast<const uint8_t *>(json.constData()),
                                                  static_cast<size_t>(json.size()), &loaded);
        return adopt(r, loaded, error);
    }

    /// The quick policy: every host, trust exactly the certificates in this
    /// PEM text and nothing else.
    static Policy fromPem(const QByteArray &pem, QString *error = nullptr)
    {
        pin_policy *loaded = nullptr;
        const pin_result r = pin_policy_load_pem(reinterpret_cast<const uint8_t *>(pem.constData()),
                                                 static_cast<size_t>(pem.size()), &loaded);
        return adopt(r, loaded, error);
    }

    /// Whether the policy loaded.
    bool isValid() const noexcept { return m_policy != nullptr; }
    /// Why the policy did not load ("PIN_ERR_…: detail"); empty when it did.
    QString errorString() const { return isValid() ? QString() : m_loadError; }
    /// The certpin handle, for the C API; null when the policy did not load.
    const pin_policy *handle() const noexcept { return m_policy.get(); }

    /// Verifies the chain a server presented (leaf first, as Qt's
    /// peerCertificateChain() gives it) for `host`, the name the application
    /// connected to. `port` only goes into violation reports. A violation of
    /// a rule with a `report_uri` (enforced or report-only) is posted there
    /// from the application's main thread, later: this call never waits for it.
    Verdict verify(const QList<QSslCertificate> &chain, const QString &host, quint16 port = 0) const
    {
        Verdict verdict;
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

private:
    static Policy adopt(pin_result result, pin_policy *loaded, QString *error)
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
        policy.m_loadError = QStringLiteral("the pinning policy did not load: ") + detail::lastError();
        if (error)
            *error = policy.m_loadError;
        return policy;
    }

    std::shared_ptr<pin_policy> m_policy;
    pin_result m_loadResult = PIN_ERR_NULL_ARGUMENT;
    QString m_loadError = QStringLiteral("PIN_ERR_NULL_ARGUMENT: no pinning policy was loaded");
};

namespace detail {

/// Whether Qt's complaint is one that a chain certpin vouched for explains:
/// Qt does not know the anchor (a pinned self-signed server, a private CA).
/// Everything else (expiry, a bad signature, revocation, an explicitly
/// distrusted root, ...) stands.
inline bool explainedByAnchor(QSslError::SslError error)
{
    switch (error) {
    case QSslError::SelfSignedCertificate:
    case QSslError::SelfSignedCertificateInChain:
    case QSslError::UnableToGetLocalIssuerCertificate:
    case QSslError::UnableToVerifyFirstCertificate:
        return true;
    default:
        return false;
    }
}

/// Whether every one of Qt's `errors` may be ignored given certpin's verdict.
inline bool overridable(const QList<QSslError> &errors, const Verdict &verdict)
{
    if (errors.isEmpty() || !verdict.vouched())
        return false;
    for (const QSslError &e : errors) {
        if (explainedByAnchor(e.error()))
            continue;
        if (e.error() == QSslError::HostNameMismatch && verdict.nameVerified())
            continue;
        return false;
    }
    return true;
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
        if (reply && !reply->isFinished())
            reply->abort();
    }
    static void abort(QSslSocket *socket)
    {
        if (socket)
            socket->abort();
    }

    QPointer<Target> m_target;
};

inline bool isHttps(const QUrl &url)
{
    return url.scheme().compare(QLatin1String("https"), Qt::CaseInsensitive) == 0;
}

/// Whether two URLs would share a connection: same scheme, host and port.
inline bool sameOrigin(const QUrl &a, const QUrl &b)
{
    return a.scheme().compare(b.scheme(), Qt::CaseInsensitive) == 0
        && a.host(QUrl::FullyEncoded).compare(b.host(QUrl::FullyEncoded), Qt::CaseInsensitive) == 0
        && a.port(443) == b.port(443);
}

/// The pinning state of one QNetworkAccessManager, a child of it. A QObject
/// without Q_OBJECT: it only overrides a virtual and is a context for lambdas.
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
    }

    static ManagerGuard *of(QNetworkAccessManager *manager)
    {
        for (QObject *child : manager->children()) {
            if (child->objectName() == QLatin1String(kName)) {
                if (auto *guard = dynamic_cast<ManagerGuard *>(child))
                    return guard;
            }
        }
        return nullptr;
    }

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

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (watched == m_manager && event->type() == QEvent::ChildAdded) {
            // The reply is still being constructed (only its QObject part
            // exists), so it is hooked once control is back in the event loop,
            // which is before any of its network events are delivered.
            QPointer<QObject> child(static_cast<QChildEvent *>(event)->child());
            if (child && child != this) {
                prune();
                m_children.append(child);
                QMetaObject::invokeMethod(
                    this,
                    [this, child] {
                        if (auto *reply = qobject_cast<QNetworkReply *>(child.data()))
                            hook(reply);
                    },
                    Qt::QueuedConnection);
            }
        }
        return QObject::eventFilter(watched, event);
    }

private:
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
        const Verdict verdict = verify(reply);
        if (!verdict.ok())
            reject(reply, verdict);
    }

    void onSslErrors(QNetworkReply *reply, const QList<QSslError> &errors)
    {
        const Verdict verdict = verify(reply);
        if (!verdict.ok())
            reject(reply, verdict);
        else if (overridable(errors, verdict))
            reply->ignoreSslErrors(errors);
    }

    /// The backstop for a reply on a reused connection, which `encrypted`
    /// never saw: its headers have arrived, its body has not reached the
    /// application yet.
    void recheck(QNetworkReply *reply)
    {
        if (reply->isFinished() || !isHttps(reply->url()))
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

    /// Rejects the connection `reply` came on: the reply and every unfinished
    /// reply to the same origin, which may share it (HTTP/2) and would hang.
    void reject(QNetworkReply *reply, const Verdict &verdict)
    {
        QList<QPointer<QNetworkReply>> doomed{QPointer<QNetworkReply>(reply)};
        const QUrl origin = reply->url();
        for (const QPointer<QObject> &child : m_children) {
            auto *other = qobject_cast<QNetworkReply *>(child.data());
            if (other && other != reply && !other->isFinished() && sameOrigin(other->url(), origin))
                doomed.append(QPointer<QNetworkReply>(other));
        }
        // The rejected connection may still be cached (an HTTP/2 connection
        // outlives its aborted streams): drop it once nothing is under way.
        m_clearPending = true;
        // The handler runs first, so that the application's `finished` slot,
        // which abort() calls, can already see what the handler recorded.
        const RejectHandler onReject = m_onReject;
        for (const QPointer<QNetworkReply> &r : doomed) {
            if (!r || r->isFinished())
                continue;
            const AbortOnExit<QNetworkReply> abort(r.data());
            if (onReject)
                onReject(r.data(), verdict);
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

    void clearConnections()
    {
        m_clearPending = false;
        m_manager->clearConnectionCache();
    }

    QNetworkAccessManager *m_manager;
    Policy m_policy;
    RejectHandler m_onReject;
    /// The manager's children seen since pinning was installed; the replies
    /// among them are the ones pinning watches.
    QList<QPointer<QObject>> m_children;
    bool m_clearPending = false;
    bool m_clearScheduled = false;
};

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

    static SocketGuard *of(QSslSocket *socket)
    {
        for (QObject *child : socket->children()) {
            if (child->objectName() == QLatin1String(kName)) {
                if (auto *guard = dynamic_cast<SocketGuard *>(child))
                    return guard;
            }
        }
        return nullptr;
    }

    void setPolicy(const Policy &policy, const QString &host, RejectHandler onReject)
    {
        m_policy = policy;
        m_host = host;
        m_onReject = std::move(onReject);
        // Installed on a socket that is already encrypted: judge it now.
        if (m_socket->isEncrypted())
            check();
    }

private:
    Verdict verify() const
    {
        return m_policy.verify(m_socket->peerCertificateChain(), m_host, m_socket->peerPort());
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
        const RejectHandler onReject = m_onReject;
        const AbortOnExit<QSslSocket> abort(m_socket);
        if (onReject)
            onReject(verdict);
    }

    QSslSocket *m_socket;
    Policy m_policy;
    QString m_host;
    RejectHandler m_onReject;
};

} // namespace detail

/// Pins every HTTPS request of `manager` to `policy`; installing again
/// replaces the policy. `onReject` is called (from a slot Qt's network thread
/// waits for: it must not block) for each reply refused, just before it is
/// aborted.
inline void install(QNetworkAccessManager *manager, const Policy &policy,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject = {})
{
    if (!manager)
        return;
    detail::ManagerGuard *guard = detail::ManagerGuard::of(manager);
    if (!guard)
        guard = new detail::ManagerGuard(manager);
    guard->setPolicy(policy, std::move(onReject));
}

/// Pins one socket to `policy`; `host` is the name the application connects
/// to. Install before connecting the application's own `encrypted` slots and
/// before the handshake; installing again replaces the policy. On a rejection
/// `onReject` is called (it must not block) and the socket is aborted.
inline void install(QSslSocket *socket, const Policy &policy, const QString &host,
                    std::function<void(const Verdict &)> onReject = {})
{
    if (!socket)
        return;
    detail::SocketGuard *guard = detail::SocketGuard::of(socket);
    if (!guard)
        guard = new detail::SocketGuard(socket);
    guard->setPolicy(policy, host, std::move(onReject));
}

} // namespace certpin

#endif // CERTPIN_QT_HPP
