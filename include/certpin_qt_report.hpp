/*
 * certpin_qt_report.hpp: posting RFC 7469 violation reports, for
 * certpin_qt.hpp (which includes it; include that one).
 */
#ifndef CERTPIN_QT_REPORT_HPP
#define CERTPIN_QT_REPORT_HPP

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QList>
#include <QtCore/QMetaObject>
#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QUrl>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>

#include <cstddef>
#include <limits>

namespace certpin {
namespace detail {

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
} // namespace certpin

#endif // CERTPIN_QT_REPORT_HPP
