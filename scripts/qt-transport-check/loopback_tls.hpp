// A loopback TLS server that counts the bytes it receives after its
// handshake, and the certificates the checks use.
#pragma once
#include <QFile>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QTcpServer>

inline QByteArray readFile(const char *path)
{
    QFile f(QString::fromLocal8Bit(path));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", path);
    return f.readAll();
}

struct CountingTlsServer : QTcpServer {
    QSslConfiguration conf;
    qint64 bytes = 0;

    CountingTlsServer(const QByteArray &certPem, const QByteArray &keyPem)
    {
        conf = QSslConfiguration::defaultConfiguration();
        conf.setLocalCertificate(QSslCertificate(certPem));
        conf.setPrivateKey(QSslKey(keyPem, QSsl::Ec));
        conf.setPeerVerifyMode(QSslSocket::VerifyNone);
        conf.setAllowedNextProtocols({ QByteArrayLiteral("h2") });
        if (!listen(QHostAddress::LocalHost))
            qFatal("listen failed");
    }

    void incomingConnection(qintptr fd) override
    {
        auto *s = new QSslSocket(this);
        s->setSocketDescriptor(fd);
        s->setSslConfiguration(conf);
        connect(s, &QSslSocket::readyRead, this, [this, s] { bytes += s->readAll().size(); });
        s->startServerEncryption();
    }
};

// MODE ends in "-reject": the server presents the rogue certificate (which
// the client's Qt trusts, as it would trust a mis-issued one from a public
// CA) and certpin's policy trusts only the real one.
struct Scenario {
    bool rogue;
    QByteArray realPem;
    QByteArray servedPem;
    QByteArray servedKey;

    Scenario(const QString &mode, char **argv)
        : rogue(mode.endsWith(QLatin1String("-reject"))), realPem(readFile(argv[2])),
          servedPem(readFile(rogue ? argv[4] : argv[2])), servedKey(readFile(rogue ? argv[5] : argv[3]))
    {
    }

    QSslConfiguration clientConf() const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setCaCertificates({ QSslCertificate(servedPem) });
        c.setAllowedNextProtocols({ QByteArrayLiteral("h2") });
        return c;
    }
};
