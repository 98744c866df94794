#include "loopback_server.hpp"

#include <QtCore/QCryptographicHash>
#include <QtCore/QMetaObject>
#include <QtCore/QPointer>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

namespace demo {

namespace {
const char *const kBuffer = "certpin.buffer";
const char *const kTunnel = "certpin.tunnel";
const char *const kHttp2 = "certpin.h2";
const char *const kHttp2Preface = "certpin.h2.preface";
const char *const kConnection = "certpin.connection";
const char *const kUpgraded = "certpin.websocket";

const QByteArray kClientPreface = QByteArrayLiteral("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

// HTTP/2 frame types and flags (RFC 9113, section 6).
enum : quint8 { kData = 0, kHeaders = 1, kSettings = 4, kPing = 6, kContinuation = 9 };
enum : quint8 { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };

QByteArray frame(quint8 type, quint8 flags, quint32 stream, const QByteArray &payload = QByteArray())
{
    const auto length = static_cast<quint32>(payload.size());
    QByteArray f;
    f.append(static_cast<char>((length >> 16) & 0xff));
    f.append(static_cast<char>((length >> 8) & 0xff));
    f.append(static_cast<char>(length & 0xff));
    f.append(static_cast<char>(type));
    f.append(static_cast<char>(flags));
    f.append(static_cast<char>((stream >> 24) & 0x7f));
    f.append(static_cast<char>((stream >> 16) & 0xff));
    f.append(static_cast<char>((stream >> 8) & 0xff));
    f.append(static_cast<char>(stream & 0xff));
    return f + payload;
}

quint32 bigEndian(const QByteArray &bytes, int from, int count)
{
    quint32 value = 0;
    for (int i = 0; i < count; ++i)
        value = (value << 8) | static_cast<quint8>(bytes.at(from + i));
    return value;
}
} // namespace

/// The server proper, living in the server's thread.
class Listener : public QTcpServer {
public:
    QByteArray body;
    QList<QSslCertificate> chain;
    QSslKey key;
    QList<QByteArray> alpn;
    LoopbackServer::Mode mode = LoopbackServer::Mode::Answer;
    QString redirect;
    bool proxying = false;

    qint64 bytes = 0;
    QList<qint64> requestBytes;
    QList<QByteArray> requestsSeen;
    int connections = 0;
    int requests = 0;
    QList<QByteArray> connectTargets;

    int openConnections() const
    {
        int open = 0;
        for (const QPointer<QSslSocket> &s : m_sockets) {
            if (s && s->state() == QAbstractSocket::ConnectedState)
                ++open;
        }
        return open;
    }

    void release()
    {
        const QList<Held> held = m_held;
        m_held.clear();
        for (const Held &h : held) {
            if (h.socket)
                answer(h.socket.data(), h.close, h.stream);
        }
    }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setLocalCertificateChain(chain);
        configuration.setPrivateKey(key);
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
        if (!alpn.isEmpty())
            configuration.setAllowedNextProtocols(alpn);
        socket->setSslConfiguration(configuration);
        m_sockets.append(QPointer<QSslSocket>(socket));
        socket->setProperty(kConnection, requestBytes.size());
        requestBytes.append(0);
        ++connections;
        connect(socket, &QSslSocket::encrypted, this, [socket] {
            socket->setProperty(kHttp2, socket->sslConfiguration().nextNegotiatedProtocol() == "h2");
        });
        connect(socket, &QSslSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        if (!proxying)
            socket->startServerEncryption();
    }

private:
    struct Held {
        QPointer<QSslSocket> socket;
        bool close;
        /// The HTTP/2 stream, 0 for HTTP/1.1.
        quint32 stream;
    };

    void onRequest(QSslSocket *socket, bool close, quint32 stream)
    {
        ++requests;
        switch (mode) {
        case LoopbackServer::Mode::Answer:
            answer(socket, close, stream);
            break;
        case LoopbackServer::Mode::Hold:
            m_held.append(Held{QPointer<QSslSocket>(socket), close, stream});
            break;
        case LoopbackServer::Mode::Silent:
            break;
        }
    }

    /// Just enough HTTP/2 for Qt's client: the prefaces, SETTINGS and PING
    /// acknowledgements, and each request (a HEADERS frame, not decoded)
    /// answered with HEADERS (":status: 200" from the static table) and DATA.
    void onHttp2(QSslSocket *socket, QByteArray buffer)
    {
        if (!socket->property(kHttp2Preface).toBool()) {
            if (buffer.size() < kClientPreface.size()) {
                socket->setProperty(kBuffer, buffer);
                return;
            }
            if (!buffer.startsWith(kClientPreface)) {
                socket->abort();
                return;
            }
            buffer.remove(0, kClientPreface.size());
            socket->setProperty(kHttp2Preface, true);
            if (mode != LoopbackServer::Mode::Silent)
                socket->write(frame(kSettings, 0, 0));
        }
        while (buffer.size() >= 9) {
            const int length = static_cast<int>(bigEndian(buffer, 0, 3));
            if (buffer.size() < 9 + length)
                break;
            const auto type = static_cast<quint8>(buffer.at(3));
            const auto flags = static_cast<quint8>(buffer.at(4));
            const quint32 stream = bigEndian(buffer, 5, 4) & 0x7fffffffu;
            const QByteArray payload = buffer.mid(9, length);
            buffer.remove(0, 9 + length);
            if (type == kHeaders || type == kContinuation || type == kData)
                countRequestBytes(socket, 9 + length);
            if (type == kHeaders) {
                requestsSeen.append("HTTP/2 HEADERS on stream " + QByteArray::number(stream) + ", "
                                    + QByteArray::number(length) + " bytes");
            }
            if (mode == LoopbackServer::Mode::Silent && type != kHeaders)
                continue;
            if (type == kSettings && !(flags & kAck))
                socket->write(frame(kSettings, kAck, 0));
            else if (type == kPing && !(flags & kAck))
                socket->write(frame(kPing, kAck, 0, payload));
            else if (type == kHeaders)
                onRequest(socket, false, stream);
        }
        socket->setProperty(kBuffer, buffer);
    }

    void onProxyRequest(QSslSocket *socket)
    {
        QByteArray buffer = socket->property(kBuffer).toByteArray() + socket->readAll();
        const int end = buffer.indexOf("\r\n\r\n");
        if (end < 0) {
            socket->setProperty(kBuffer, buffer);
            return;
        }
        const QList<QByteArray> words = buffer.left(buffer.indexOf("\r\n")).split(' ');
        socket->setProperty(kBuffer, QByteArray());
        if (words.size() < 2 || words.at(0) != "CONNECT") {
            socket->write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
            return;
        }
        connectTargets.append(words.at(1));
        socket->setProperty(kTunnel, true);
        socket->write("HTTP/1.1 200 Connection established\r\n\r\n");
        socket->startServerEncryption();
    }

    void onReadyRead(QSslSocket *socket)
    {
        if (proxying && !socket->property(kTunnel).toBool()) {
            onProxyRequest(socket);
            return;
        }
        const QByteArray data = socket->readAll();
        bytes += data.size();
        QByteArray buffer = socket->property(kBuffer).toByteArray() + data;
        if (socket->property(kHttp2).toBool()) {
            onHttp2(socket, buffer);
            return;
        }
        countRequestBytes(socket, data.size());
        // After a WebSocket upgrade the frames are counted, not read.
        if (socket->property(kUpgraded).toBool())
            return;
        for (;;) {
            const int end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                break;
            requestsSeen.append(buffer.left(buffer.indexOf("\r\n")));
            const QByteArray original = buffer.left(end);
            const QByteArray head = original.toLower();
            buffer.remove(0, end + 4);
            if (mode == LoopbackServer::Mode::Answer && upgradeToWebSocket(socket, original)) {
                ++requests;
                return;
            }
            onRequest(socket, head.contains("\r\nconnection: close"), 0);
        }
        socket->setProperty(kBuffer, buffer);
    }

    /// Accepts a WebSocket upgrade request (RFC 6455, section 4.2.2) with
    /// 101 and the answer to its key; the connection then stays open and
    /// silent, and what the client sends on it is counted.
    bool upgradeToWebSocket(QSslSocket *socket, const QByteArray &head)
    {
        QByteArray key;
        bool upgrade = false;
        for (const QByteArray &line : head.split('\n')) {
            const int colon = line.indexOf(':');
            if (colon < 0)
                continue;
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "upgrade" && value.toLower() == "websocket")
                upgrade = true;
            else if (name == "sec-websocket-key")
                key = value;
        }
        if (!upgrade || key.isEmpty())
            return false;
        const QByteArray accept =
            QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", QCryptographicHash::Sha1).toBase64();
        socket->setProperty(kUpgraded, true);
        socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " + accept + "\r\n\r\n");
        return true;
    }

    void countRequestBytes(QSslSocket *socket, qint64 count)
    {
        const int connection = socket->property(kConnection).toInt();
        if (connection >= 0 && connection < requestBytes.size())
            requestBytes[connection] += count;
    }

    void answer(QSslSocket *socket, bool close, quint32 stream)
    {
        if (stream != 0) {
            socket->write(frame(kHeaders, kEndHeaders, stream, QByteArray(1, static_cast<char>(0x88))));
            socket->write(frame(kData, kEndStream, stream, body));
            return;
        }
        const QByteArray content = redirect.isEmpty() ? body : QByteArray();
        QByteArray response = redirect.isEmpty()
            ? QByteArray("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=600\r\n")
            : "HTTP/1.1 302 Found\r\nLocation: " + redirect.toUtf8() + "\r\n";
        response += "Content-Length: " + QByteArray::number(content.size()) + "\r\n";
        response += close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
        response += content;
        socket->write(response);
        if (close)
            socket->disconnectFromHost();
    }

    QList<QPointer<QSslSocket>> m_sockets;
    QList<Held> m_held;
};

LoopbackServer::LoopbackServer(const QString &name, const QList<QSslCertificate> &chain, const QSslKey &key)
    : m_name(name)
{
    m_thread.setObjectName(QStringLiteral("server ") + name);
    m_thread.start();
    m_home = new QObject;
    m_home->moveToThread(&m_thread);
    QMetaObject::invokeMethod(
        m_home,
        [this, &chain, &key] {
            m_listener = new Listener;
            m_listener->body = body();
            m_listener->chain = chain;
            m_listener->key = key;
        },
        Qt::BlockingQueuedConnection);
}

LoopbackServer::~LoopbackServer()
{
    QMetaObject::invokeMethod(
        m_home, [this] { delete m_listener; }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_home;
}

void LoopbackServer::inServerThread(const std::function<void(Listener &)> &work) const
{
    QMetaObject::invokeMethod(
        m_home, [this, &work] { work(*m_listener); }, Qt::BlockingQueuedConnection);
}

bool LoopbackServer::start()
{
    bool listening = false;
    inServerThread([&](Listener &l) {
        listening = l.listen(QHostAddress(QHostAddress::LocalHost), 0);
        m_port = l.serverPort();
    });
    return listening;
}

QString LoopbackServer::url(const QString &path) const
{
    return QStringLiteral("https://127.0.0.1:%1%2").arg(m_port).arg(path);
}

QByteArray LoopbackServer::body() const
{
    return "hello from " + m_name.toUtf8() + "\n";
}

void LoopbackServer::setMode(Mode mode)
{
    inServerThread([mode](Listener &l) { l.mode = mode; });
}

void LoopbackServer::setBody(const QByteArray &body)
{
    inServerThread([&body](Listener &l) { l.body = body; });
}

void LoopbackServer::setAlpn(const QList<QByteArray> &protocols)
{
    inServerThread([&protocols](Listener &l) { l.alpn = protocols; });
}

void LoopbackServer::setRedirect(const QString &location)
{
    inServerThread([&location](Listener &l) { l.redirect = location; });
}

void LoopbackServer::setProxying(bool proxying)
{
    inServerThread([proxying](Listener &l) { l.proxying = proxying; });
}

void LoopbackServer::release()
{
    inServerThread([](Listener &l) { l.release(); });
}

qint64 LoopbackServer::bytesReceived() const
{
    qint64 bytes = 0;
    inServerThread([&bytes](Listener &l) { bytes = l.bytes; });
    return bytes;
}

qint64 LoopbackServer::requestBytes() const
{
    qint64 total = 0;
    for (const qint64 bytes : requestBytesPerConnection())
        total += bytes;
    return total;
}

QList<qint64> LoopbackServer::requestBytesPerConnection() const
{
    QList<qint64> perConnection;
    inServerThread([&perConnection](Listener &l) { perConnection = l.requestBytes; });
    return perConnection;
}

QList<QByteArray> LoopbackServer::requestsSeen() const
{
    QList<QByteArray> seen;
    inServerThread([&seen](Listener &l) { seen = l.requestsSeen; });
    return seen;
}

int LoopbackServer::connections() const
{
    int n = 0;
    inServerThread([&n](Listener &l) { n = l.connections; });
    return n;
}

int LoopbackServer::requests() const
{
    int n = 0;
    inServerThread([&n](Listener &l) { n = l.requests; });
    return n;
}

int LoopbackServer::openConnections() const
{
    int n = 0;
    inServerThread([&n](Listener &l) { n = l.openConnections(); });
    return n;
}

QList<QByteArray> LoopbackServer::connectTargets() const
{
    QList<QByteArray> targets;
    inServerThread([&targets](Listener &l) { targets = l.connectTargets; });
    return targets;
}

void LoopbackServer::resetCounts()
{
    inServerThread([](Listener &l) {
        l.bytes = 0;
        // Connections stay open: their counters restart from zero.
        for (qint64 &bytes : l.requestBytes)
            bytes = 0;
        l.requestsSeen.clear();
        l.connections = 0;
        l.requests = 0;
        l.connectTargets.clear();
    });
}

} // namespace demo
