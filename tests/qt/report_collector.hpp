// A violation report collector on 127.0.0.1 (an OS-picked port) inside the
// test process: an HTTP (or HTTPS) server that records every request it gets.
//
// It lives in the thread that made it and works while that thread runs its
// event loop, as the tests' bounded waits do.
#ifndef CERTPIN_QT_TEST_REPORT_COLLECTOR_HPP
#define CERTPIN_QT_TEST_REPORT_COLLECTOR_HPP

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

#include <memory>

namespace collector {

/// One request the collector received.
struct Received {
    QByteArray method;
    QByteArray path;
    /// The Content-Type header as sent.
    QByteArray contentType;
    QByteArray body;
};

class Listener;

/// Records what clients post to it and answers each request.
class ReportCollector {
public:
    /// How the collector answers.
    enum class Answer {
        /// 204 No Content.
        Accept,
        /// 500 Internal Server Error.
        Fail,
    };

    /// A plain-HTTP collector.
    explicit ReportCollector(Answer answer = Answer::Accept);
    /// An HTTPS collector serving `chain` (leaf first) with `key`.
    ReportCollector(const QList<QSslCertificate> &chain, const QSslKey &key, Answer answer = Answer::Accept);
    ~ReportCollector();
    ReportCollector(const ReportCollector &) = delete;
    ReportCollector &operator=(const ReportCollector &) = delete;

    /// Listens on 127.0.0.1; false when that fails.
    bool start();
    quint16 port() const;
    /// "http://127.0.0.1:<port>/report" (https for a TLS collector).
    QString uri() const;
    /// Every request received so far, in order of arrival.
    const QList<Received> &received() const;

private:
    std::unique_ptr<Listener> m_listener;
};

} // namespace collector

#endif
