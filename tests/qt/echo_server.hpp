// A wss echo server on 127.0.0.1 (Qt WebSockets) for the WebSocket tests:
// each text message comes back as "echo: <text>", each binary one as
// "echo: " followed by its bytes. Header-only; include it once per binary.
#ifndef CERTPIN_QT_TEST_ECHO_SERVER_HPP
#define CERTPIN_QT_TEST_ECHO_SERVER_HPP

#include "demo_pki.hpp"

#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>
#include <QtWebSockets/QWebSocket>
#include <QtWebSockets/QWebSocketServer>

/// A wss echo server on 127.0.0.1 (an OS-picked port) with `credential`.
class EchoServer {
public:
    explicit EchoServer(const demo::Credential &credential)
        : m_server(QStringLiteral("certpin echo"), QWebSocketServer::SecureMode)
    {
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setLocalCertificate(credential.certificate);
        configuration.setPrivateKey(credential.key);
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
        m_server.setSslConfiguration(configuration);
        QObject::connect(&m_server, &QWebSocketServer::newConnection, &m_server, [this] {
            while (QWebSocket *peer = m_server.nextPendingConnection()) {
                peer->setParent(&m_server);
                QObject::connect(peer, &QWebSocket::textMessageReceived, peer,
                                 [peer](const QString &text) { peer->sendTextMessage(QStringLiteral("echo: ") + text); });
                QObject::connect(peer, &QWebSocket::binaryMessageReceived, peer,
                                 [peer](const QByteArray &data) { peer->sendBinaryMessage("echo: " + data); });
            }
        });
        if (!m_server.listen(QHostAddress::LocalHost, 0))
            qFatal("cannot listen on 127.0.0.1");
    }
    QUrl url() const { return QUrl(QStringLiteral("wss://127.0.0.1:%1/live").arg(m_server.serverPort())); }

private:
    QWebSocketServer m_server;
};

#endif
