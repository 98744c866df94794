#include "report_collector.hpp"

#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

namespace collector {

/// The server proper. A QTcpServer that makes QSslSockets, which speak plain
/// TCP until encryption is started, so one code path serves HTTP and HTTPS.
class Listener : public QTcpServer {
public:
    ReportCollector::Answer answer = ReportCollector::Answer::Accept;
    QList<QSslCertificate> chain;
    QSslKey key;
    QList<Received> received;

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        auto buffer = std::make_shared<QByteArray>();
        connect(socket, &QSslSocket::readyRead, this, [this, socket, buffer] {
            *buffer += socket->readAll();
            serve(socket, *buffer);
        });
        connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        if (!chain.isEmpty()) {
            QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
            configuration.setLocalCertificateChain(chain);
            configuration.setPrivateKey(key);
            configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
            socket->setSslConfiguration(configuration);
            socket->startServerEncryption();
        }
    }

private:
    /// Takes every complete request (headers and a Content-Length body) off
    /// the front of `buffer` and answers it.
    void serve(QSslSocket *socket, QByteArray &buffer)
    {
        for (;;) {
            const int end = static_cast<int>(buffer.indexOf("\r\n\r\n"));
            if (end < 0)
                return;
            const QList<QByteArray> lines = buffer.left(end).split('\n');
            const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
            Received request;
            request.method = requestLine.value(0);
            request.path = requestLine.value(1);
            int length = 0;
            for (int i = 1; i < lines.size(); ++i) {
                const int colon = static_cast<int>(lines.at(i).indexOf(':'));
                if (colon < 0)
                    continue;
                const QByteArray name = lines.at(i).left(colon).trimmed().toLower();
                const QByteArray value = lines.at(i).mid(colon + 1).trimmed();
                if (name == "content-length")
                    length = value.toInt();
                else if (name == "content-type")
                    request.contentType = value;
            }
            if (buffer.size() < end + 4 + length)
                return;
            request.body = buffer.mid(end + 4, length);
            buffer.remove(0, end + 4 + length);
            received.append(request);
            socket->write(answer == ReportCollector::Answer::Accept
                              ? QByteArray("HTTP/1.1 204 No Content\r\n\r\n")
                              : QByteArray("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"));
        }
    }
};

ReportCollector::ReportCollector(Answer answer) : m_listener(new Listener)
{
    m_listener->answer = answer;
}

ReportCollector::ReportCollector(const QList<QSslCertificate> &chain, const QSslKey &key, Answer answer)
    : ReportCollector(answer)
{
    m_listener->chain = chain;
    m_listener->key = key;
}

ReportCollector::~ReportCollector() = default;

bool ReportCollector::start()
{
    return m_listener->listen(QHostAddress(QHostAddress::LocalHost), 0);
}

quint16 ReportCollector::port() const
{
    return m_listener->serverPort();
}

QString ReportCollector::uri() const
{
    return QStringLiteral("%1://127.0.0.1:%2/report")
        .arg(m_listener->chain.isEmpty() ? QStringLiteral("http") : QStringLiteral("https"))
        .arg(port());
}

const QList<Received> &ReportCollector::received() const
{
    return m_listener->received;
}

} // namespace collector
