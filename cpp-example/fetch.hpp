// Requests through a QNetworkAccessManager, waited for in a local event loop
// that is always bounded by a timeout: nothing the demo or the tests do can hang.
#ifndef CERTPIN_DEMO_FETCH_HPP
#define CERTPIN_DEMO_FETCH_HPP

#include <QtCore/QByteArray>
#include <QtCore/QElapsedTimer>
#include <QtCore/QList>
#include <QtCore/QPointer>
#include <QtCore/QString>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>

#include <memory>

namespace demo {

/// What became of one request.
struct Outcome {
    /// Whether the reply finished before the timeout.
    bool finished = false;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QString errorString;
    int httpStatus = 0;
    QByteArray body;
    /// Whether the body reached the application through readyRead/readAll.
    bool bodySeen = false;
    /// Whether the reply came over HTTP/2.
    bool http2 = false;
    /// How long the request took, in milliseconds.
    double elapsedMs = 0;

    /// Finished without error, with HTTP 200.
    bool succeeded() const { return finished && error == QNetworkReply::NoError && httpStatus == 200; }
    /// A short account: "HTTP 200", "error: SSL handshake failed", "no answer".
    QString summary() const;
};

/// A request to `url`; under Qt 5, HTTP/2 is allowed when `http2` is set (it
/// is on by default in Qt 6).
QNetworkRequest makeRequest(const QString &url, bool http2 = false);

/// A request under way, observed from the moment it is created.
class Pending {
public:
    explicit Pending(QNetworkReply *reply);
    Pending(const Pending &) = delete;
    Pending &operator=(const Pending &) = delete;
    QNetworkReply *reply() const { return m_reply.data(); }
    bool done() const { return m_outcome.finished; }
    const Outcome &outcome() const { return m_outcome; }

private:
    QPointer<QNetworkReply> m_reply;
    /// Owns the connections to the reply: they end with this object.
    std::unique_ptr<QObject> m_context;
    Outcome m_outcome;
    QElapsedTimer m_clock;
};

/// Runs the event loop until every request is done or `timeoutMs` passed.
/// Returns whether all are done.
bool waitAll(const QList<Pending *> &pending, int timeoutMs);

/// GETs `request` and waits for it (at most `timeoutMs`).
Outcome fetch(QNetworkAccessManager &manager, const QNetworkRequest &request, int timeoutMs = 10000);

/// Runs the event loop for `ms` milliseconds (to let queued work happen).
void spin(int ms);

} // namespace demo

#endif
