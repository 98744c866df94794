/*
 * certpin_qt_updater.hpp: signed policy updates for Qt applications
 * (Qt 5.15 and Qt 6), on top of certpin_qt.hpp. Header-only; needs no moc.
 *
 *     certpin::PolicyUpdater updater(builtInPolicy, {QStringLiteral("ed25519/Mj1U...")},
 *                                    QUrl(QStringLiteral("https://updates.example.com/pins.json")));
 *     updater.addManager(&manager);
 *     updater.setOutcomeHandler([](const certpin::UpdateOutcome &o) { qInfo() << o.kindName() << o.message; });
 *     updater.start();
 *
 * The updater starts on the stored update when it is still valid, else on
 * the built-in policy (and says why); fetches the update URL at start, every
 * interval and on demand, through a manager of its own that the policy in
 * force pins; applies a valid newer update (stored first, atomically), and
 * re-installs the policy in force on every manager, socket and installer it
 * was given. What it must never do, and does not:
 *  - apply an update that no trusted key signed, or one whose sequence is
 *    not above the highest it ever applied (the floor survives restarts, and
 *    the expiry of the update in force);
 *  - keep an update in force past its expiry: the built-in policy comes back
 *    at that instant, while running and at the next start;
 *  - crash, throw or stop on a torn, corrupt or unreadable state file: it
 *    starts on the built-in policy and says why;
 *  - leave anything but the old or the new state when a write is cut short
 *    (QSaveFile: a temporary file, fsync, then a rename over the old file);
 *  - wait for the update server or let it change anything: a fetch runs in
 *    the event loop, is bounded in time and size, and any failure keeps the
 *    policy in force.
 */
#ifndef CERTPIN_QT_UPDATER_HPP
#define CERTPIN_QT_UPDATER_HPP

#include "certpin_qt.hpp"

#include <QtCore/QByteArray>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QSaveFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QSslSocket>

#include <algorithm>
#include <functional>
#include <utility>

namespace certpin {

/// What one step of a PolicyUpdater came to, as its outcome handler hears it.
struct UpdateOutcome {
    enum Kind {
        /// At start: the stored update is in force again.
        Loaded,
        /// The built-in policy is in force: at start, when there is no stored
        /// update or it cannot be used (`message` says why), or because the
        /// update in force expired.
        BuiltIn,
        /// A fetched (or offered) update is in force now.
        Applied,
        /// The fetched update is the one in force.
        Unchanged,
        /// The fetched update was not applied (`result` and `message` say
        /// why); the policy in force stays.
        Refused,
        /// Nothing usable came from the update URL (unreachable, an HTTP
        /// error, too slow, too large, refused by pinning); the policy in
        /// force stays.
        FetchFailed,
    };

    Kind kind = FetchFailed;
    /// Why: PIN_OK, or the code of a refusal (PIN_ERR_UPDATE_SIGNATURE,
    /// PIN_ERR_UPDATE_ROLLBACK, PIN_ERR_UPDATE_EXPIRED, PIN_ERR_POLICY_*).
    pin_result result = PIN_OK;
    /// The sequence of the update in force after this step; 0 for the
    /// built-in policy.
    quint64 sequence = 0;
    /// When the update in force expires (UTC); invalid for the built-in policy.
    QDateTime expires;
    /// What happened and why, in words, for a log.
    QString message;
    /// Why the state file could not be written (Applied: the update is in
    /// force for this run only) or read (BuiltIn at start); empty otherwise.
    QString stateError;

    /// "loaded", "built-in", "applied", "unchanged", "refused", "fetch failed".
    QString kindName() const
    {
        switch (kind) {
        case Loaded:
            return QStringLiteral("loaded");
        case BuiltIn:
            return QStringLiteral("built-in");
        case Applied:
            return QStringLiteral("applied");
        case Unchanged:
            return QStringLiteral("unchanged");
        case Refused:
            return QStringLiteral("refused");
        case FetchFailed:
            break;
        }
        return QStringLiteral("fetch failed");
    }
};

/// Keeps an application's pinning policy current from signed updates (see
/// the top of this file). A QObject without Q_OBJECT; use it from the thread
/// it lives in.
class PolicyUpdater : public QObject {
public:
    using OutcomeHandler = std::function<void(const UpdateOutcome &)>;
    using Installer = std::function<void(const Policy &)>;

    /// `builtIn`: the policy the application ships, in force whenever no
    /// valid update is. `trustedKeys`: the public keys whose signatures an
    /// update may carry ("ed25519/<base64>"; several for a key rotation).
    /// `updateUrl`: where the update is fetched (https, from a host
    /// `builtIn` pins; empty: updates come only through offer()).
    PolicyUpdater(const Policy &builtIn, const QStringList &trustedKeys, const QUrl &updateUrl,
                  QObject *parent = nullptr);
    ~PolicyUpdater() override;
    PolicyUpdater(const PolicyUpdater &) = delete;
    PolicyUpdater &operator=(const PolicyUpdater &) = delete;

    /// Where the state (the last update applied and its sequence) is kept.
    /// Set before start(); the default is defaultStatePath().
    void setStatePath(const QString &path) { m_statePath = path; }
    QString statePath() const { return m_statePath; }
    /// "certpin-update-state.json" under QStandardPaths::AppDataLocation.
    static QString defaultStatePath()
    {
        return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)
            + QStringLiteral("/certpin-update-state.json");
    }

    /// How often the update URL is fetched after the first fetch at start
    /// (default 6 hours).
    void setInterval(int msec);
    int interval() const { return m_interval; }
    /// How long one fetch may take in all, answer included, before it is
    /// abandoned (default 30 seconds).
    void setTimeout(int msec) { m_timeout = std::max(1, msec); }
    int timeout() const { return m_timeout; }
    /// The largest update accepted, in bytes (default 1 MiB): a download
    /// that grows past it is abandoned.
    void setMaximumSize(qint64 bytes) { m_maximumSize = std::max<qint64>(1, bytes); }
    qint64 maximumSize() const { return m_maximumSize; }

    /// Called (synchronously, in the updater's thread) with each outcome.
    void setOutcomeHandler(OutcomeHandler handler) { m_onOutcome = std::move(handler); }

    /// Pins `manager` to the policy in force now and at every change. A
    /// manager pinned before (install(), certpin::NetworkAccessManager) keeps
    /// its onReject handler unless `onReject` is given. A manager deleted
    /// later is skipped.
    void addManager(QNetworkAccessManager *manager,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject = {});
    /// Pins `socket` the same way (install() on a QSslSocket).
    void addSocket(QSslSocket *socket, std::function<void(const Verdict &)> onReject = {});
    /// Calls `installer` with the policy in force now and at every change:
    /// for TLS clients the updater does not know (an engine's factory, a
    /// client made per request).
    void addInstaller(Installer installer);

    /// Loads the state, puts the policy it allows in force (reporting Loaded
    /// or BuiltIn), then fetches the update URL at once and every interval.
    /// Once; later calls do nothing.
    void start();
    /// Fetches the update URL now, unless a fetch is under way. Returns at
    /// once; the outcome is reported when the fetch ends.
    void checkNow();
    /// Treats `update` as if it had been fetched (an update delivered some
    /// other way, e.g. with a push message): verifies, stores, applies and
    /// reports it, synchronously. `source` names it in messages.
    UpdateOutcome offer(const QByteArray &update, const QString &source = QStringLiteral("the offered update"));

    /// The policy in force.
    const Policy &policy() const noexcept { return m_policy; }
    /// The sequence of the update in force; 0 for the built-in policy.
    quint64 sequence() const noexcept { return m_sequence; }
    /// The highest sequence ever applied (also from the state): no update at
    /// or below it is applied again.
    quint64 highestSequence() const noexcept { return m_floor; }
    /// Whether a fetch is under way.
    bool isFetching() const noexcept { return !m_reply.isNull(); }
    /// The last outcome reported.
    const UpdateOutcome &lastOutcome() const noexcept { return m_last; }

private:
    /// The stored state, as read from the state file.
    struct State {
        quint64 sequence = 0;
        QByteArray update;
    };

    static QString describeExpiry(const QDateTime &expires)
    {
        return expires.toString(Qt::ISODate);
    }

    /// Reads the state file: an empty State when there is none; on failure
    /// `error` says why, `result` classifies it and the State is empty.
    State readState(QString *error, pin_result *result) const;
    /// Writes the state atomically; the error, or an empty string.
    QString writeState(const State &state) const;
    /// Verifies `bytes` and applies them when they are a valid newer update.
    UpdateOutcome consider(const QByteArray &bytes, const QString &source);
    void finishFetch(QNetworkReply *reply);
    /// Abandons the fetch under way for `why`.
    void abandonFetch(const QString &why);
    /// Puts `policy` in force everywhere.
    void apply(const Policy &policy, const QByteArray &update);
    /// Returns to the built-in policy when the update in force has expired,
    /// else arms the timer for its expiry.
    void enforceExpiry();
    void armExpiry();
    UpdateOutcome inForce(UpdateOutcome::Kind kind, const QString &message) const;
    UpdateOutcome report(const UpdateOutcome &outcome);

    Policy m_builtIn;
    Policy m_policy;
    QStringList m_trustedKeys;
    QUrl m_url;
    QString m_statePath;
    int m_interval = 6 * 60 * 60 * 1000;
    int m_timeout = 30 * 1000;
    qint64 m_maximumSize = 1024 * 1024;
    OutcomeHandler m_onOutcome;
    UpdateOutcome m_last;
    bool m_started = false;

    /// The update in force (its file's bytes) and its sequence; empty and 0
    /// for the built-in policy.
    QByteArray m_update;
    quint64 m_sequence = 0;
    /// The stored update's bytes (in force, or expired) and the floor.
    QByteArray m_stored;
    quint64 m_floor = 0;

    QList<QPointer<QNetworkAccessManager>> m_managers;
    QList<QPointer<QSslSocket>> m_sockets;
    QList<Installer> m_installers;

    /// The updater's own manager, pinned by the policy in force.
    NetworkAccessManager *m_fetcher = nullptr;
    QPointer<QNetworkReply> m_reply;
    QByteArray m_body;
    QString m_fetchFailure;
    Verdict m_fetchVerdict;
    QTimer m_deadline;
    QTimer m_ticker;
    QTimer m_expiry;
};

namespace detail {

/// The state file's key names; the file is
/// {"certpin_update_state": 1, "sequence": "<decimal>", "update": "<base64 of the update file>"}
/// (the sequence is text: a JSON number cannot hold every 64-bit value).
constexpr const char *kStateFormat = "certpin_update_state";
constexpr const char *kStateSequence = "sequence";
constexpr const char *kStateUpdate = "update";
/// A state file larger than this is corrupt: updates are at most 32 MiB,
/// in base64.
constexpr qint64 kMaximumStateSize = 48 * 1024 * 1024;

/// Puts `policy` in force on a manager, keeping the handler it was pinned
/// with when `onReject` is empty.
inline void repin(QNetworkAccessManager *manager, const Policy &policy,
                  const std::function<void(QNetworkReply *, const Verdict &)> &onReject)
{
    ManagerGuard *guard = guardOf<ManagerGuard>(manager);
    if (guard && !onReject)
        guard->replacePolicy(policy);
    else
        install(manager, policy, onReject);
}

inline void repin(QSslSocket *socket, const Policy &policy, const std::function<void(const Verdict &)> &onReject)
{
    SocketGuard *guard = guardOf<SocketGuard>(socket);
    if (guard && !onReject)
        guard->replacePolicy(policy);
    else
        install(socket, policy, onReject);
}

} // namespace detail

inline PolicyUpdater::PolicyUpdater(const Policy &builtIn, const QStringList &trustedKeys, const QUrl &updateUrl,
                                    QObject *parent)
    : QObject(parent), m_builtIn(builtIn), m_policy(builtIn), m_trustedKeys(trustedKeys), m_url(updateUrl),
      m_statePath(defaultStatePath())
{
    m_fetcher = new NetworkAccessManager(
        builtIn, [this](QNetworkReply *, const Verdict &verdict) { m_fetchVerdict = verdict; }, this);
    m_deadline.setSingleShot(true);
    QObject::connect(&m_deadline, &QTimer::timeout, this, [this] {
        abandonFetch(QStringLiteral("no complete answer within %1 ms").arg(m_timeout));
    });
    QObject::connect(&m_ticker, &QTimer::timeout, this, [this] { checkNow(); });
    m_expiry.setSingleShot(true);
    m_expiry.setTimerType(Qt::PreciseTimer);
    QObject::connect(&m_expiry, &QTimer::timeout, this, [this] { enforceExpiry(); });
}

inline PolicyUpdater::~PolicyUpdater()
{
    // Before the members its replies' connections refer to.
    delete m_fetcher;
}

inline void PolicyUpdater::setInterval(int msec)
{
    m_interval = std::max(1, msec);
    if (m_ticker.isActive())
        m_ticker.start(m_interval);
}

inline void PolicyUpdater::addManager(QNetworkAccessManager *manager,
                                      std::function<void(QNetworkReply *, const Verdict &)> onReject)
{
    if (!manager)
        return;
    detail::repin(manager, m_policy, onReject);
    if (!m_managers.contains(QPointer<QNetworkAccessManager>(manager)))
        m_managers.append(QPointer<QNetworkAccessManager>(manager));
}

inline void PolicyUpdater::addSocket(QSslSocket *socket, std::function<void(const Verdict &)> onReject)
{
    if (!socket)
        return;
    detail::repin(socket, m_policy, onReject);
    if (!m_sockets.contains(QPointer<QSslSocket>(socket)))
        m_sockets.append(QPointer<QSslSocket>(socket));
}

inline void PolicyUpdater::addInstaller(Installer installer)
{
    if (!installer)
        return;
    installer(m_policy);
    m_installers.append(std::move(installer));
}

inline void PolicyUpdater::start()
{
    if (m_started)
        return;
    m_started = true;
    QString error;
    pin_result stateResult = PIN_OK;
    const State state = readState(&error, &stateResult);
    m_floor = state.sequence;
    m_stored = state.update;
    UpdateOutcome outcome;
    if (!error.isEmpty()) {
        outcome = inForce(UpdateOutcome::BuiltIn,
                          QStringLiteral("built-in policy in force: the state file %1 was not used: %2")
                              .arg(QDir::toNativeSeparators(m_statePath), error));
        outcome.result = stateResult;
        outcome.stateError = error;
    } else if (state.sequence == 0) {
        outcome = inForce(UpdateOutcome::BuiltIn, QStringLiteral("built-in policy in force: no update stored yet"));
    } else {
        QString why;
        const Policy stored = Policy::fromUpdate(state.update, m_trustedKeys, state.sequence - 1, &why);
        if (stored.isValid()) {
            m_floor = std::max(m_floor, stored.updateSequence());
            apply(stored, state.update);
            outcome = inForce(UpdateOutcome::Loaded, QStringLiteral("update %1 in force (stored; expires %2)")
                                                         .arg(m_sequence)
                                                         .arg(describeExpiry(m_policy.updateExpiry())));
        } else {
            outcome = inForce(UpdateOutcome::BuiltIn,
                              QStringLiteral("built-in policy in force: stored update %1 %2").arg(state.sequence).arg(why));
            outcome.result = stored.loadResult();
        }
    }
    report(outcome);
    enforceExpiry();
    if (!m_url.isEmpty()) {
        m_ticker.start(m_interval);
        checkNow();
    }
}

inline void PolicyUpdater::checkNow()
{
    if (m_url.isEmpty() || m_reply)
        return;
    enforceExpiry();
    if (!detail::isTls(m_url)) {
        report(inForce(UpdateOutcome::FetchFailed,
                       QStringLiteral("fetching %1 failed: not an https URL, which the policy in force could pin")
                           .arg(m_url.toDisplayString())));
        return;
    }
    QNetworkRequest request(m_url);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::NoLessSafeRedirectPolicy);
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    request.setAttribute(QNetworkRequest::CacheSaveControlAttribute, false);
    m_body.clear();
    m_fetchFailure.clear();
    m_fetchVerdict = Verdict();
    QNetworkReply *reply = m_fetcher->get(request);
    m_reply = reply;
    const QPointer<QNetworkReply> guarded(reply);
    QObject::connect(reply, &QNetworkReply::metaDataChanged, this, [this, guarded] {
        if (!guarded || guarded != m_reply)
            return;
        const QVariant length = guarded->header(QNetworkRequest::ContentLengthHeader);
        if (length.isValid() && length.toLongLong() > m_maximumSize)
            abandonFetch(QStringLiteral("the answer announces %1 bytes, over the limit of %2")
                             .arg(length.toLongLong())
                             .arg(m_maximumSize));
    });
    QObject::connect(reply, &QNetworkReply::readyRead, this, [this, guarded] {
        if (!guarded || guarded != m_reply)
            return;
        m_body += guarded->read(m_maximumSize + 1 - m_body.size());
        if (m_body.size() > m_maximumSize)
            abandonFetch(QStringLiteral("the answer is over the limit of %1 bytes").arg(m_maximumSize));
    });
    QObject::connect(reply, &QNetworkReply::finished, this, [this, guarded] {
        if (guarded)
            finishFetch(guarded.data());
    });
    m_deadline.start(m_timeout);
    // A reply Qt refused at once may have finished before the connections.
    if (reply->isFinished()) {
        QMetaObject::invokeMethod(
            this,
            [this, guarded] {
                if (guarded)
                    finishFetch(guarded.data());
            },
            Qt::QueuedConnection);
    }
}

inline void PolicyUpdater::abandonFetch(const QString &why)
{
    if (!m_reply || !m_fetchFailure.isEmpty())
        return;
    m_fetchFailure = why;
    if (m_reply->isFinished())
        finishFetch(m_reply.data());
    else
        m_reply->abort(); // which emits finished, ending the fetch

}

inline void PolicyUpdater::finishFetch(QNetworkReply *reply)
{
    if (reply != m_reply)
        return;
    m_deadline.stop();
    m_reply.clear();
    reply->deleteLater();
    const QString url = m_url.toDisplayString();
    QString failure = m_fetchFailure;
    if (failure.isEmpty() && reply->error() != QNetworkReply::NoError) {
        failure = m_fetchVerdict.message.isEmpty() ? reply->errorString()
                                                   : QStringLiteral("refused by pinning: ") + m_fetchVerdict.message;
    }
    if (failure.isEmpty()) {
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status != 200)
            failure = QStringLiteral("HTTP status %1").arg(status);
    }
    if (failure.isEmpty()) {
        m_body += reply->read(m_maximumSize + 1 - m_body.size());
        if (m_body.size() > m_maximumSize)
            failure = QStringLiteral("the answer is over the limit of %1 bytes").arg(m_maximumSize);
    }
    const QByteArray body = m_body;
    m_body.clear();
    if (!failure.isEmpty()) {
        enforceExpiry();
        report(inForce(UpdateOutcome::FetchFailed, QStringLiteral("fetching %1 failed: %2; %3 stays in force")
                                                        .arg(url, failure,
                                                             m_sequence ? QStringLiteral("update %1").arg(m_sequence)
                                                                        : QStringLiteral("the built-in policy"))));
        return;
    }
    consider(body, url);
}

inline UpdateOutcome PolicyUpdater::offer(const QByteArray &update, const QString &source)
{
    return consider(update, source);
}

inline UpdateOutcome PolicyUpdater::consider(const QByteArray &bytes, const QString &source)
{
    enforceExpiry();
    const QString kept = m_sequence ? QStringLiteral("update %1 stays in force").arg(m_sequence)
                                    : QStringLiteral("the built-in policy stays in force");
    if (m_sequence != 0 && bytes == m_update)
        return report(inForce(UpdateOutcome::Unchanged,
                              QStringLiteral("%1: update %2 is already in force").arg(source).arg(m_sequence)));
    QString why;
    Policy next = Policy::fromUpdate(bytes, m_trustedKeys, m_floor, &why);
    if (!next.isValid() && next.loadResult() == PIN_ERR_UPDATE_ROLLBACK && m_floor != 0 && bytes == m_stored) {
        // The stored update again, no longer in force: say why it is not.
        // (Valid again only if the clock went back.)
        next = Policy::fromUpdate(bytes, m_trustedKeys, m_floor - 1, &why);
    }
    if (!next.isValid()) {
        UpdateOutcome refused = inForce(UpdateOutcome::Refused,
                                        QStringLiteral("refused %1: %2; %3").arg(source, why, kept));
        refused.result = next.loadResult();
        return report(refused);
    }
    State state;
    state.sequence = next.updateSequence();
    state.update = bytes;
    const QString stateError = writeState(state);
    m_floor = std::max(m_floor, state.sequence);
    if (stateError.isEmpty())
        m_stored = bytes;
    apply(next, bytes);
    UpdateOutcome applied = inForce(
            UpdateOutcome::Applied,
            QStringLiteral("applied update %1 from %2 (expires %3)")
                .arg(m_sequence)
                .arg(source, describeExpiry(m_policy.updateExpiry()))
            + (stateError.isEmpty() ? QStringLiteral(", stored in %1").arg(QDir::toNativeSeparators(m_statePath))
                                    : QStringLiteral(", for this run only: the state could not be stored: %1")
                                          .arg(stateError)));
    applied.stateError = stateError;
    report(applied);
    // Expired since it was checked: back at once, and said so.
    enforceExpiry();
    return applied;
}

inline void PolicyUpdater::apply(const Policy &policy, const QByteArray &update)
{
    m_policy = policy;
    m_sequence = policy.updateSequence();
    m_update = m_sequence ? update : QByteArray();
    m_fetcher->setPolicy(policy, [this](QNetworkReply *, const Verdict &verdict) { m_fetchVerdict = verdict; });
    m_managers.removeAll(QPointer<QNetworkAccessManager>());
    for (const QPointer<QNetworkAccessManager> &manager : m_managers)
        detail::repin(manager.data(), policy, {});
    m_sockets.removeAll(QPointer<QSslSocket>());
    for (const QPointer<QSslSocket> &socket : m_sockets)
        detail::repin(socket.data(), policy, {});
    for (const Installer &installer : m_installers)
        installer(policy);
    armExpiry();
}

inline void PolicyUpdater::armExpiry()
{
    m_expiry.stop();
    if (m_sequence == 0)
        return;
    const qint64 remaining = m_policy.updateExpiry().toMSecsSinceEpoch() - QDateTime::currentMSecsSinceEpoch();
    // QTimer takes an int; a far expiry is re-armed daily.
    m_expiry.start(static_cast<int>(std::clamp<qint64>(remaining, 0, 24LL * 60 * 60 * 1000)));
}

inline void PolicyUpdater::enforceExpiry()
{
    if (m_sequence == 0)
        return;
    if (m_policy.updateExpiry().toMSecsSinceEpoch() > QDateTime::currentMSecsSinceEpoch()) {
        armExpiry();
        return;
    }
    const quint64 expired = m_sequence;
    const QDateTime at = m_policy.updateExpiry();
    apply(m_builtIn, QByteArray());
    UpdateOutcome outcome = inForce(UpdateOutcome::BuiltIn,
                                    QStringLiteral("built-in policy in force: update %1 expired at %2")
                                        .arg(expired)
                                        .arg(describeExpiry(at)));
    outcome.result = PIN_ERR_UPDATE_EXPIRED;
    report(outcome);
}

inline UpdateOutcome PolicyUpdater::inForce(UpdateOutcome::Kind kind, const QString &message) const
{
    UpdateOutcome outcome;
    outcome.kind = kind;
    outcome.sequence = m_sequence;
    outcome.expires = m_sequence ? m_policy.updateExpiry() : QDateTime();
    outcome.message = message;
    return outcome;
}

inline UpdateOutcome PolicyUpdater::report(const UpdateOutcome &outcome)
{
    m_last = outcome;
    if (m_onOutcome)
        m_onOutcome(outcome);
    return outcome;
}

inline PolicyUpdater::State PolicyUpdater::readState(QString *error, pin_result *result) const
{
    State none;
    QFile file(m_statePath);
    if (!file.exists())
        return none;
    *result = PIN_ERR_POLICY_IO;
    if (QFileInfo(m_statePath).isDir()) {
        *error = QStringLiteral("it is a folder");
        return none;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read it: ") + file.errorString();
        return none;
    }
    if (file.size() > detail::kMaximumStateSize) {
        *error = QStringLiteral("it is over %1 bytes").arg(detail::kMaximumStateSize);
        return none;
    }
    const QByteArray bytes = file.readAll();
    *result = PIN_ERR_POLICY_SYNTAX;
    QJsonParseError parse{};
    const QJsonDocument document = QJsonDocument::fromJson(bytes, &parse);
    if (parse.error != QJsonParseError::NoError || !document.isObject()) {
        *error = QStringLiteral("it is torn or corrupt (%1)")
                     .arg(parse.error != QJsonParseError::NoError ? parse.errorString()
                                                                  : QStringLiteral("not a JSON object"));
        return none;
    }
    *result = PIN_ERR_POLICY_INVALID;
    const QJsonObject object = document.object();
    const QString format = QString::fromLatin1(detail::kStateFormat);
    const QString sequenceKey = QString::fromLatin1(detail::kStateSequence);
    const QString updateKey = QString::fromLatin1(detail::kStateUpdate);
    for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
        if (it.key() != format && it.key() != sequenceKey && it.key() != updateKey) {
            *error = QStringLiteral("unknown key \"%1\"").arg(it.key());
            return none;
        }
    }
    if (object.value(format) != QJsonValue(1)) {
        *error = QStringLiteral("\"%1\" is not 1").arg(format);
        return none;
    }
    const QString sequenceText = object.value(sequenceKey).toString();
    bool number = !sequenceText.isEmpty();
    for (const QChar c : sequenceText)
        number = number && c >= QLatin1Char('0') && c <= QLatin1Char('9');
    const quint64 sequence = number ? sequenceText.toULongLong(&number) : 0;
    if (!number || sequence == 0) {
        *error = QStringLiteral("\"%1\" is not a sequence (a decimal number from 1, as text)").arg(sequenceKey);
        return none;
    }
    const QByteArray::FromBase64Result update = QByteArray::fromBase64Encoding(
        object.value(updateKey).toString().toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!update || update.decoded.isEmpty()) {
        *error = QStringLiteral("\"%1\" is not base64 text").arg(updateKey);
        return none;
    }
    State state;
    state.sequence = sequence;
    state.update = update.decoded;
    *result = PIN_OK;
    return state;
}

inline QString PolicyUpdater::writeState(const State &state) const
{
    const QFileInfo info(m_statePath);
    if (!QDir().mkpath(info.absolutePath()))
        return QStringLiteral("cannot make the folder %1").arg(QDir::toNativeSeparators(info.absolutePath()));
    QJsonObject object;
    object.insert(QString::fromLatin1(detail::kStateFormat), 1);
    object.insert(QString::fromLatin1(detail::kStateSequence), QString::number(state.sequence));
    object.insert(QString::fromLatin1(detail::kStateUpdate), QString::fromLatin1(state.update.toBase64()));
    const QByteArray json = QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
    // QSaveFile writes a new file beside the old one and renames it over the
    // old one after an fsync: a write cut short leaves the old file.
    // Unbuffered: a buffered QSaveFile writes in commit(), and there (Qt 6.4,
    // 5.15) a failed write (a full disk, EFBIG) does not stop the rename: the
    // torn file replaced the old one.
    QSaveFile file(m_statePath);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return QDir::toNativeSeparators(m_statePath) + QStringLiteral(": ") + file.errorString();
    if (file.write(json) != json.size() || file.error() != QFileDevice::NoError) {
        const QString why = file.errorString();
        file.cancelWriting();
        return QDir::toNativeSeparators(m_statePath) + QStringLiteral(": ") + why;
    }
    if (!file.commit())
        return QDir::toNativeSeparators(m_statePath) + QStringLiteral(": ") + file.errorString();
    return {};
}

} // namespace certpin

#endif // CERTPIN_QT_UPDATER_HPP
