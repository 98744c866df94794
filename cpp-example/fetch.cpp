#include "fetch.hpp"

#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QTimer>
#include <QtCore/QUrl>

#include <memory>

namespace demo {

QString Outcome::summary() const
{
    if (!finished)
        return QStringLiteral("no answer");
    if (error == QNetworkReply::NoError)
        return QStringLiteral("HTTP %1").arg(httpStatus);
    switch (error) {
    case QNetworkReply::SslHandshakeFailedError:
        return QStringLiteral("refused (TLS handshake failed)");
    case QNetworkReply::OperationCanceledError:
        return QStringLiteral("refused (aborted)");
    default:
        return QStringLiteral("error %1: %2").arg(static_cast<int>(error)).arg(errorString);
    }
}

QNetworkRequest makeRequest(const QString &url, bool http2)
{
    QNetworkRequest request{QUrl(url)};
#if QT_VERSION < QT_VERSION_CHECK(6, 0, 0)
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, http2);
#else
    Q_UNUSED(http2) // Qt 6 allows HTTP/2 by default.
#endif
    return request;
}

Pending::Pending(QNetworkReply *reply)
    : m_reply(reply), m_context(new QObject)
{
    m_clock.start();
    QObject::connect(reply, &QNetworkReply::readyRead, m_context.get(), [this] { m_outcome.bodySeen = true; });
    QObject::connect(reply, &QNetworkReply::finished, m_context.get(), [this, reply] {
        m_outcome.finished = true;
        m_outcome.elapsedMs = static_cast<double>(m_clock.nsecsElapsed()) / 1e6;
        m_outcome.error = reply->error();
        m_outcome.errorString = reply->errorString();
        m_outcome.httpStatus = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        m_outcome.http2 = reply->attribute(QNetworkRequest::Http2WasUsedAttribute).toBool();
        if (reply->isOpen())
            m_outcome.body = reply->readAll();
        if (!m_outcome.body.isEmpty())
            m_outcome.bodySeen = true;
        reply->deleteLater();
    });
}

bool waitAll(const QList<Pending *> &pending, int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    auto allDone = [&pending] {
        for (const Pending *p : pending) {
            if (!p->done())
                return false;
        }
        return true;
    };
    while (!allDone()) {
        const qint64 left = timeoutMs - clock.elapsed();
        if (left <= 0)
            return false;
        QEventLoop loop;
        QTimer bound;
        bound.setSingleShot(true);
        QObject::connect(&bound, &QTimer::timeout, &loop, &QEventLoop::quit);
        // Wake up on every finished request to look again.
        for (const Pending *p : pending) {
            if (p->reply() && !p->done())
                QObject::connect(p->reply(), &QNetworkReply::finished, &loop, &QEventLoop::quit,
                                 Qt::QueuedConnection);
        }
        bound.start(static_cast<int>(left));
        loop.exec();
    }
    return true;
}

Outcome fetch(QNetworkAccessManager &manager, const QNetworkRequest &request, int timeoutMs)
{
    auto pending = std::make_unique<Pending>(manager.get(request));
    waitAll({pending.get()}, timeoutMs);
    Outcome outcome = pending->outcome();
    if (!outcome.finished && pending->reply()) {
        // Bounded: give up on it so it cannot outlive the caller's wait.
        QNetworkReply *reply = pending->reply();
        pending.reset();
        reply->abort();
        reply->deleteLater();
    }
    return outcome;
}

void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace demo
