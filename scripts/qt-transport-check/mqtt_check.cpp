// Qt MQTT: when does QMqttClient write CONNECT (user name and password)
// relative to the socket's `encrypted`, and does certpin stop it?
//   mqtt-check MODE REAL.pem REAL.key ROGUE.pem ROGUE.key
// MODE:
//   pinned-accept / pinned-reject         the pattern: own QSslSocket, install(),
//   pinned-iodevice-accept / -reject      setTransport(), connectToHost() once
//                                         certpin accepted (SecureSocket / IODevice)
//   onconnected-accept / -reject          connectToHost() at `connected`, before
//                                         the handshake ends
//   unconnected-accept                    connectToHost() before the socket connects
//   own-accept / own-reject               connectToHostEncrypted(): QMqttClient's own
//                                         socket, install() on transport()
// Prints "RESULT MODE BYTES STATE", the bytes the server received after its
// handshake and QMqttClient's state (0 disconnected, 1 connecting).
#include <QCoreApplication>
#include <QTimer>
#include <QtMqtt/QMqttClient>

#include <cstdio>

#include "certpin_qt.hpp"
#include "loopback_tls.hpp"

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 6)
        qFatal("usage: mqtt-check MODE REAL.pem REAL.key ROGUE.pem ROGUE.key");
    const QString mode = QString::fromLatin1(argv[1]);
    const Scenario scenario(mode, argv);
    CountingTlsServer server(scenario.servedPem, scenario.servedKey);
    const certpin::Policy policy = certpin::Policy::fromPem(scenario.realPem);
    const auto onReject = [](const certpin::Verdict &v) { std::printf("refused: %s\n", qPrintable(v.resultName())); };
    QSslConfiguration conf = scenario.clientConf();
    conf.setAllowedNextProtocols({});

    QMqttClient client;
    client.setHostname(QStringLiteral("localhost"));
    client.setPort(server.serverPort());
    client.setUsername(QStringLiteral("user"));
    client.setPassword(QStringLiteral("password"));
    QSslSocket socket;
    socket.setSslConfiguration(conf);

    if (mode.startsWith(QLatin1String("own"))) {
        client.connectToHostEncrypted(conf);
        auto *own = qobject_cast<QSslSocket *>(client.transport());
        if (!own)
            qFatal("no QSslSocket transport");
        std::printf("own transport: parent %s, state %d\n", own->parent() ? "set" : "none", int(own->state()));
        certpin::install(own, policy, onReject);
    } else {
        certpin::install(&socket, policy, onReject);
        client.setTransport(&socket, mode.contains(QLatin1String("iodevice")) ? QMqttClient::IODevice
                                                                               : QMqttClient::SecureSocket);
        if (mode.startsWith(QLatin1String("unconnected"))) {
            client.connectToHost();
        } else if (mode.startsWith(QLatin1String("onconnected"))) {
            QObject::connect(&socket, &QSslSocket::connected, &client, [&] {
                client.connectToHost();
                std::printf("connectToHost() at `connected`: %lld bytes waiting in the socket\n",
                            socket.bytesToWrite());
            });
            socket.connectToHostEncrypted(client.hostname(), client.port());
        } else {
            // Connected after install(): runs after certpin's check.
            QObject::connect(&socket, &QSslSocket::encrypted, &client, [&] {
                if (!certpin::verdictOf(&socket).isValid() && socket.isEncrypted())
                    client.connectToHost();
            });
            socket.connectToHostEncrypted(client.hostname(), client.port());
        }
    }

    QTimer::singleShot(1500, &app, [&] {
        std::printf("RESULT %s %lld %d\n", qPrintable(mode), server.bytes, int(client.state()));
        app.quit();
    });
    return app.exec();
}
