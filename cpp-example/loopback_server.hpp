// A TLS server on 127.0.0.1 (an OS-picked port) inside the process, which
// counts what clients send it.
//
// It runs in a thread of its own, so that it reads whatever a client sends
// the moment it arrives, whatever the client's thread is doing: a request
// that leaves the client before certpin aborts it is counted. QSslServer
// exists only from Qt 6.4, so it is a QTcpServer that starts TLS itself; it
// needs no moc.
#ifndef CERTPIN_DEMO_LOOPBACK_SERVER_HPP
#define CERTPIN_DEMO_LOOPBACK_SERVER_HPP

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QThread>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

#include <functional>

namespace demo {

class Listener;

/// An HTTPS server for one certificate chain. Every method may be called
/// from the thread that made the server; each waits for the server's thread.
class LoopbackServer {
public:
    /// How the server treats requests.
    enum class Mode {
        /// Answers each request with 200 and a short body (HTTP/1.1: keep-alive);
        /// a WebSocket upgrade request with 101, after which the connection
        /// stays open and what arrives on it is counted, not answered.
        Answer,
        /// Holds answers back until release() is called.
        Hold,
        /// Never answers (a server that only completes the handshake).
        Silent,
    };

    /// `chain` is what the server sends, leaf first.
    LoopbackServer(const QString &name, const QList<QSslCertificate> &chain, const QSslKey &key);
    ~LoopbackServer();
    LoopbackServer(const LoopbackServer &) = delete;
    LoopbackServer &operator=(const LoopbackServer &) = delete;

    /// Listens on 127.0.0.1; false when that fails.
    bool start();
    /// The port it listens on.
    quint16 port() const { return m_port; }
    /// "https://127.0.0.1:<port><path>".
    QString url(const QString &path = QStringLiteral("/")) const;
    /// The body of this server's answers.
    QByteArray body() const;

    void setMode(Mode mode);
    /// Answers with `body` from now on instead of body() (HTTP/1.1; over
    /// HTTP/2 it must fit one DATA frame, 16 KiB).
    void setBody(const QByteArray &body);
    /// ALPN protocols to offer. With "h2" agreed the server speaks just enough
    /// HTTP/2 to answer Qt's requests (in Mode::Silent it sends nothing at all).
    void setAlpn(const QList<QByteArray> &protocols);
    /// Answers every request with a redirect to `location` instead (empty: no redirect).
    void setRedirect(const QString &location);
    /// Makes the server also its own HTTP proxy: each connection starts with a
    /// plain-text CONNECT request, whose target is recorded, then TLS follows.
    void setProxying(bool proxying);
    /// Sends the answers held back in Mode::Hold.
    void release();

    /// Application bytes received after the TLS handshake, on every connection.
    qint64 bytesReceived() const;
    /// Bytes of requests received, on every connection: everything a client
    /// sends over HTTP/1.1, and over HTTP/2 the frames that carry a request
    /// (HEADERS, CONTINUATION, DATA; not the connection preface, SETTINGS or
    /// PING). A request that left the client counts here.
    qint64 requestBytes() const;
    /// requestBytes() per connection, in the order they were accepted.
    QList<qint64> requestBytesPerConnection() const;
    /// What each request that arrived was, for messages: the request line
    /// (HTTP/1.1) or "HTTP/2 HEADERS on stream N, L bytes".
    QList<QByteArray> requestsSeen() const;
    /// TCP connections accepted.
    int connections() const;
    /// HTTP requests received (a request's headers arrived).
    int requests() const;
    /// Connections now open.
    int openConnections() const;
    /// The targets of the CONNECT requests received, e.g. "xn--bcher-kva.example:443".
    QList<QByteArray> connectTargets() const;
    /// Forgets the counts (open connections stay open).
    void resetCounts();

private:
    /// Runs `work` in the server's thread and waits for it.
    void inServerThread(const std::function<void(Listener &)> &work) const;

    QString m_name;
    QThread m_thread;
    QObject *m_home = nullptr;
    Listener *m_listener = nullptr;
    quint16 m_port = 0;
};

} // namespace demo

#endif
