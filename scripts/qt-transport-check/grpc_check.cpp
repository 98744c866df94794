// Qt gRPC (6.8): QGrpcHttp2Channel makes its own QSslSocket. Can an
// application reach it, and can certpin stop a unary call's bytes?
//   grpc-check MODE REAL.pem REAL.key ROGUE.pem ROGUE.key
// MODE:
//   plain-accept         no pinning: what the server receives
//   hook-abort-reject    the socket found through Qt's object-creation hook
//   hook-certpin-reject  (a debugging interface, not for applications):
//   hook-certpin-accept  abort in `encrypted`, or certpin::install() on it
//   relay-reject         the workaround: the channel speaks to a local socket,
//   relay-accept         the application relays over a socket certpin pins
// Prints "RESULT MODE BYTES", the bytes the server received after its handshake.
#include <QCoreApplication>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QtGrpc/QGrpcCallReply>
#include <QtGrpc/QGrpcChannelOptions>
#include <QtGrpc/QGrpcHttp2Channel>

#include <cstdio>
#include <memory>
#include <type_traits>
#include <vector>

#include "certpin_qt.hpp"
#include "loopback_tls.hpp"
#include "probe.qpb.h"
#include "probe_client.grpc.qpb.h"

// The channel is no QObject: nothing to call findChildren() on.
static_assert(!std::is_base_of_v<QObject, QGrpcHttp2Channel>, "QGrpcHttp2Channel became a QObject");

// Qt's object-creation hook (QtCore's private qhooks_p.h, the interface of
// debuggers such as GammaRay): index 3 is called for every new QObject.
QT_BEGIN_NAMESPACE
extern Q_CORE_EXPORT quintptr qtHookData[];
QT_END_NAMESPACE
static std::vector<QObject *> *created = nullptr;
static void (*previousAdd)(QObject *) = nullptr;
static void onAdd(QObject *o)
{
    if (created)
        created->push_back(o);
    if (previousAdd)
        previousAdd(o);
}

// One relayed connection: cleartext HTTP/2 from the channel on `down`, TLS to
// the server on `up`, judged by certpin. Nothing is forwarded before `up` is
// encrypted and certpin has not refused it.
static void relay(QLocalSocket *down, const QSslConfiguration &conf, const certpin::Policy &policy,
                  const QString &host, quint16 port)
{
    auto *up = new QSslSocket(down);
    up->setSslConfiguration(conf); // its allowed protocols must include "h2"
    certpin::install(up, policy,
                     [](const certpin::Verdict &v) { std::printf("relay: refused: %s\n", qPrintable(v.resultName())); });
    auto held = std::make_shared<QByteArray>();
    auto open = std::make_shared<bool>(false);
    QObject::connect(up, &QSslSocket::encrypted, down, [=] {
        if (certpin::verdictOf(up).isValid() || !up->isEncrypted())
            return;
        *open = true;
        up->write(*held);
        held->clear();
    });
    QObject::connect(down, &QLocalSocket::readyRead, up, [=] {
        const QByteArray data = down->readAll();
        if (*open)
            up->write(data);
        else
            held->append(data);
    });
    QObject::connect(up, &QSslSocket::readyRead, down, [=] { down->write(up->readAll()); });
    QObject::connect(up, &QSslSocket::disconnected, down, &QLocalSocket::disconnectFromServer);
    QObject::connect(down, &QLocalSocket::disconnected, down, [=] {
        up->abort();
        down->deleteLater();
    });
    up->connectToHostEncrypted(host, port);
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 6)
        qFatal("usage: grpc-check MODE REAL.pem REAL.key ROGUE.pem ROGUE.key");
    const QString mode = QString::fromLatin1(argv[1]);
    const Scenario scenario(mode, argv);
    CountingTlsServer server(scenario.servedPem, scenario.servedKey);
    const certpin::Policy policy = certpin::Policy::fromPem(scenario.realPem);

    QGrpcChannelOptions options;
    options.setMetadata({ { QByteArrayLiteral("authorization"), QByteArrayLiteral("Bearer token") } });
    std::shared_ptr<QGrpcHttp2Channel> channel;
    QSslSocket *socket = nullptr;
    QTemporaryDir dir; // private to the user: the relay's socket lives here
    QLocalServer local;

    if (mode.startsWith(QLatin1String("relay"))) {
        const QString path = dir.filePath(QStringLiteral("grpc"));
        if (!local.listen(path))
            qFatal("local listen failed");
        QObject::connect(&local, &QLocalServer::newConnection, &local, [&] {
            while (QLocalSocket *down = local.nextPendingConnection())
                relay(down, scenario.clientConf(), policy, QStringLiteral("localhost"), server.serverPort());
        });
        channel = std::make_shared<QGrpcHttp2Channel>(QUrl(QStringLiteral("unix://") + path), options);
    } else {
        options.setSslConfiguration(scenario.clientConf());
        std::vector<QObject *> seen;
        created = &seen;
        previousAdd = reinterpret_cast<void (*)(QObject *)>(qtHookData[3]);
        qtHookData[3] = reinterpret_cast<quintptr>(&onAdd);
        channel = std::make_shared<QGrpcHttp2Channel>(
            QUrl(QStringLiteral("https://localhost:%1").arg(server.serverPort())), options);
        qtHookData[3] = reinterpret_cast<quintptr>(previousAdd);
        created = nullptr;
        for (QObject *o : seen) {
            std::printf("made by the channel's constructor: %s, parent %s\n", o->metaObject()->className(),
                        o->parent() ? o->parent()->metaObject()->className() : "none");
            if (auto *s = qobject_cast<QSslSocket *>(o))
                socket = s;
        }
        if (!socket)
            qFatal("the channel made no QSslSocket");
        std::printf("its QSslSocket after the constructor: state %d (1 = host lookup: connecting already)\n",
                    int(socket->state()));
    }

    if (mode == QLatin1String("hook-abort-reject")) {
        QObject::connect(
            socket, &QSslSocket::encrypted, socket,
            [socket] {
                std::printf("encrypted: %lld bytes waiting in the socket; abort\n", socket->bytesToWrite());
                socket->abort();
            },
            Qt::DirectConnection);
    } else if (mode.startsWith(QLatin1String("hook-certpin"))) {
        certpin::install(socket, policy, [socket](const certpin::Verdict &v) {
            std::printf("refused: %s, %lld bytes waiting in the socket\n", qPrintable(v.resultName()),
                        socket->bytesToWrite());
        });
    }

    probe::Probe::Client client;
    client.attachChannel(channel);
    probe::Ping ping;
    ping.setToken(QStringLiteral("secret"));
    const std::unique_ptr<QGrpcCallReply> reply = client.Hello(ping);
    QObject::connect(reply.get(), &QGrpcCallReply::finished, &app, [](const QGrpcStatus &status) {
        std::printf("call finished: status %d\n", int(status.code()));
    });
    QTimer::singleShot(300, &app, [&] {
        std::printf("QSslSocket children: of the client %lld, of the application %lld\n",
                    qlonglong(client.findChildren<QSslSocket *>().size()),
                    qlonglong(app.findChildren<QSslSocket *>().size()));
    });
    QTimer::singleShot(1500, &app, [&] {
        std::printf("RESULT %s %lld\n", qPrintable(mode), server.bytes);
        app.quit();
    });
    return app.exec();
}
