/*
 * certpin_qt_qml_websocket.hpp: a pinned WebSocket type for QML (Qt Qml and
 * Qt WebSockets, Qt 5.15 and Qt 6), in place of the WebSocket type of
 * `import QtWebSockets`, which cannot be pinned. Included by certpin_qt.hpp
 * when the application links both modules (QT_QML_LIB, QT_WEBSOCKETS_LIB);
 * include it yourself otherwise.
 *
 * Unlike the rest of certpin's Qt helpers this header declares a QObject
 * with properties and signals, which moc must see: list the header among
 * the sources of the target that calls registerQmlWebSocket() (CMake with
 * AUTOMOC: `target_sources(app PRIVATE ${certpin_include}/certpin_qt_qml_websocket.hpp)`).
 *
 *     certpin::registerQmlWebSocket(policy, [](const certpin::Verdict &v) { qWarning() << v.message; });
 *     QQmlApplicationEngine engine;
 *     certpin::install(&engine, policy);
 *     engine.load(QUrl("qrc:/main.qml"));
 *
 *     // main.qml
 *     import Certpin 1.0
 *     PinnedWebSocket {
 *         url: "wss://api.example.com/live"
 *         active: true
 *         onStatusChanged: function () { if (status === PinnedWebSocket.Error) console.warn(errorString) }
 *         onTextMessageReceived: function (message) { console.log(message) }
 *     }
 *
 * Why a type of its own: Qt's QML WebSocket makes its QWebSocket without a
 * parent and holds it in a private smart pointer, so nothing outside the
 * type can reach the socket to install pinning on it (README, "Which Qt
 * traffic certpin covers").
 *
 * PinnedWebSocket has the properties, methods and signals of Qt's type that
 * QML code uses (url, active, status, errorString, sendTextMessage,
 * sendBinaryMessage, textMessageReceived, binaryMessageReceived and the
 * change signals; not requestedSubprotocols / negotiatedSubprotocol), with
 * the same meaning: it opens when it is complete, active and has a valid
 * url, a new url reopens it, `active: false` closes it. Its QWebSocket is a
 * child of it, and is pinned with certpin::install(QWebSocket *) before
 * every open, so a refused server gets not one byte of the upgrade request.
 * A refusal ends with status Error and errorString the verdict's message
 * ("PIN_ERR_UNTRUSTED: …"); certpin::verdictOf(object->webSocket()) gives
 * the verdict.
 */
#ifndef CERTPIN_QT_QML_WEBSOCKET_HPP
#define CERTPIN_QT_QML_WEBSOCKET_HPP

#include "certpin_qt.hpp"
#include "certpin_qt_websockets.hpp"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QMetaObject>
#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtCore/QString>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtQml/QQmlParserStatus>
#include <QtQml/qqml.h>
#include <QtWebSockets/QWebSocket>

#include <functional>
#include <utility>

namespace certpin {

class PinnedWebSocket;

/// Registers PinnedWebSocket with QML as `uri` `versionMajor`.`versionMinor`
/// (`import Certpin 1.0` by default), pinned to `policy`; `onReject` is
/// called (it must not block) for each connection refused, before it is
/// aborted. Register before any engine loads QML that imports `uri`.
///
/// Calling it again replaces the policy and the handler (a URI already
/// registered is not registered twice): every PinnedWebSocket alive is
/// re-pinned at once, in its own thread, and an open connection that the
/// new policy refuses is closed with status Error, as a refused open is;
/// later opens use the new policy. With certpin::PolicyUpdater:
///
///     updater.addInstaller([onReject](const certpin::Policy &p) { certpin::registerQmlWebSocket(p, onReject); });
///
/// The policy is the process's: one for every engine (QML types are
/// registered per process).
inline void registerQmlWebSocket(const Policy &policy, std::function<void(const Verdict &)> onReject = {},
                                 const char *uri = "Certpin", int versionMajor = 1, int versionMinor = 0);

namespace detail {

/// The policy of every PinnedWebSocket, and the ones alive to re-pin when
/// it changes. PinnedWebSockets live in any thread that runs QML; the state
/// is behind a mutex.
class QmlWebSocketState {
public:
    using RejectHandler = std::function<void(const Verdict &)>;

    static QmlWebSocketState &instance()
    {
        static QmlWebSocketState state;
        return state;
    }

    void enrol(PinnedWebSocket *socket)
    {
        QMutexLocker lock(&m_mutex);
        m_alive.append(socket);
    }

    void leave(PinnedWebSocket *socket)
    {
        QMutexLocker lock(&m_mutex);
        m_alive.removeAll(socket);
    }

    /// The policy and handler in force.
    std::pair<Policy, RejectHandler> current()
    {
        QMutexLocker lock(&m_mutex);
        return {m_policy, m_onReject};
    }

    /// Whether `uri` was registered before (and marks it registered).
    bool registered(const QByteArray &uri)
    {
        QMutexLocker lock(&m_mutex);
        if (m_uris.contains(uri))
            return true;
        m_uris.insert(uri);
        return false;
    }

    /// Replaces the policy; re-pins every PinnedWebSocket alive.
    inline void setPolicy(const Policy &policy, RejectHandler onReject);

private:
    QMutex m_mutex;
    /// Fails closed until a policy is given.
    Policy m_policy;
    RejectHandler m_onReject;
    QList<PinnedWebSocket *> m_alive;
    QSet<QByteArray> m_uris;
};

} // namespace detail

/// QML's WebSocket, pinned (see the top of this header). Made by QML
/// (registerQmlWebSocket()), or in C++ like any QObject.
class PinnedWebSocket : public QObject, public QQmlParserStatus {
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    Q_PROPERTY(QUrl url READ url WRITE setUrl NOTIFY urlChanged)
    Q_PROPERTY(Status status READ status NOTIFY statusChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorStringChanged)
    Q_PROPERTY(bool active READ isActive WRITE setActive NOTIFY activeChanged)

public:
    /// The values of Qt's type.
    enum Status { Connecting = 0, Open = 1, Closing = 2, Closed = 3, Error = 4 };
    Q_ENUM(Status)

    explicit PinnedWebSocket(QObject *parent = nullptr)
        : QObject(parent), m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
    {
        QObject::connect(m_socket, &QWebSocket::textMessageReceived, this, &PinnedWebSocket::textMessageReceived);
        QObject::connect(m_socket, &QWebSocket::binaryMessageReceived, this,
                         &PinnedWebSocket::binaryMessageReceived);
        QObject::connect(m_socket, &QWebSocket::stateChanged, this,
                         [this](QAbstractSocket::SocketState state) { onStateChanged(state); });
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
        QObject::connect(m_socket, &QWebSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) { onError(); });
#else
        QObject::connect(m_socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
                         [this](QAbstractSocket::SocketError) { onError(); });
#endif
        detail::QmlWebSocketState::instance().enrol(this);
    }

    ~PinnedWebSocket() override
    {
        detail::QmlWebSocketState::instance().leave(this);
        // Its signals must not reach this half-destroyed object.
        m_socket->disconnect(this);
    }

    PinnedWebSocket(const PinnedWebSocket &) = delete;
    PinnedWebSocket &operator=(const PinnedWebSocket &) = delete;

    QUrl url() const { return m_url; }
    void setUrl(const QUrl &url)
    {
        if (url == m_url)
            return;
        if (m_status == Open)
            m_socket->close();
        m_url = url;
        Q_EMIT urlChanged();
        open();
    }

    Status status() const { return m_status; }
    QString errorString() const { return m_errorString; }

    bool isActive() const { return m_active; }
    void setActive(bool active)
    {
        if (active == m_active)
            return;
        m_active = active;
        Q_EMIT activeChanged(m_active);
        if (!m_complete)
            return;
        if (m_active)
            open();
        else
            m_socket->close();
    }

    /// Sends `message` on the open connection; the bytes sent, or 0 (and
    /// status Error) when it is not open.
    Q_INVOKABLE qint64 sendTextMessage(const QString &message)
    {
        if (!mayQueue())
            return 0;
        return m_socket->sendTextMessage(message);
    }
    Q_INVOKABLE qint64 sendBinaryMessage(const QByteArray &message)
    {
        if (!mayQueue())
            return 0;
        return m_socket->sendBinaryMessage(message);
    }

    /// The pinned socket (for C++: its TLS configuration, verdictOf()).
    QWebSocket *webSocket() const { return m_socket; }

    /// Pins the socket to `policy` now (the connection open, if any,
    /// included); for registerQmlWebSocket().
    void repin(const Policy &policy, std::function<void(const Verdict &)> onReject)
    {
        install(m_socket, policy, std::move(onReject));
        // A refusal of the open connection aborts it; the state change that
        // follows reports it.
    }

    void classBegin() override { m_complete = false; }
    void componentComplete() override
    {
        m_complete = true;
        open();
    }

Q_SIGNALS:
    void textMessageReceived(const QString &message);
    void binaryMessageReceived(const QByteArray &message);
    void statusChanged(certpin::PinnedWebSocket::Status status);
    void activeChanged(bool isActive);
    void errorStringChanged(const QString &errorString);
    void urlChanged();

private:
    void open()
    {
        if (!m_complete || !m_active || !m_url.isValid())
            return;
        const auto current = detail::QmlWebSocketState::instance().current();
        // A verdict from an earlier connection says nothing about this one.
        m_socket->setProperty(detail::kVerdict, QVariant());
        install(m_socket, current.first, current.second);
        m_socket->open(m_url);
    }

    bool mayQueue()
    {
        if (m_status == Open)
            return true;
        setErrorString(QStringLiteral("messages can be sent only while the connection is open"));
        setStatus(Error);
        return false;
    }

    /// The message of certpin's refusal of the connection, empty when it
    /// did not refuse it.
    QString refusal() const
    {
        const Verdict verdict = verdictOf(m_socket);
        return verdict.isValid() && !verdict.ok() ? verdict.message : QString();
    }

    void onError()
    {
        const QString refused = refusal();
        setErrorString(refused.isEmpty() ? m_socket->errorString() : refused);
        setStatus(Error);
    }

    void onStateChanged(QAbstractSocket::SocketState state)
    {
        switch (state) {
        case QAbstractSocket::ConnectedState:
            setStatus(Open);
            break;
        case QAbstractSocket::ClosingState:
            setStatus(Closing);
            break;
        case QAbstractSocket::UnconnectedState: {
            const QString refused = refusal();
            if (!refused.isEmpty()) {
                setErrorString(refused);
                setStatus(Error);
            } else if (m_status != Error) {
                // An error stays the status until the next open.
                setStatus(Closed);
            }
            break;
        }
        default:
            setStatus(Connecting);
            break;
        }
    }

    void setStatus(Status status)
    {
        if (status == m_status)
            return;
        m_status = status;
        if (status != Error)
            setErrorString(QString());
        Q_EMIT statusChanged(m_status);
    }

    void setErrorString(const QString &errorString)
    {
        if (errorString == m_errorString)
            return;
        m_errorString = errorString;
        Q_EMIT errorStringChanged(m_errorString);
    }

    QWebSocket *m_socket;
    QUrl m_url;
    Status m_status = Closed;
    QString m_errorString;
    bool m_active = false;
    /// False between classBegin() and componentComplete(), while QML sets
    /// the properties; a PinnedWebSocket made in C++ is complete at once.
    bool m_complete = true;
};

inline void detail::QmlWebSocketState::setPolicy(const Policy &policy, RejectHandler onReject)
{
    QList<QPointer<PinnedWebSocket>> here;
    {
        QMutexLocker lock(&m_mutex);
        m_policy = policy;
        m_onReject = onReject;
        for (PinnedWebSocket *socket : m_alive) {
            if (socket->thread() == QThread::currentThread()) {
                here.append(QPointer<PinnedWebSocket>(socket));
                continue;
            }
            // Posted while the lock keeps the socket from going (its
            // destructor waits for it); dropped if it is gone by the time
            // its thread gets to it.
            QMetaObject::invokeMethod(
                socket, [socket, policy, onReject] { socket->repin(policy, onReject); }, Qt::QueuedConnection);
        }
    }
    // Outside the lock: re-pinning may refuse a connection and call the
    // handler, which may register again, or delete a socket.
    for (const QPointer<PinnedWebSocket> &socket : here) {
        if (socket)
            socket->repin(policy, onReject);
    }
}

inline void registerQmlWebSocket(const Policy &policy, std::function<void(const Verdict &)> onReject, const char *uri,
                                 int versionMajor, int versionMinor)
{
    detail::QmlWebSocketState &state = detail::QmlWebSocketState::instance();
    state.setPolicy(policy, std::move(onReject));
    const QByteArray key = QByteArray(uri) + ' ' + QByteArray::number(versionMajor) + '.'
        + QByteArray::number(versionMinor);
    if (!state.registered(key))
        qmlRegisterType<PinnedWebSocket>(uri, versionMajor, versionMinor, "PinnedWebSocket");
}

} // namespace certpin

#endif // CERTPIN_QT_QML_WEBSOCKET_HPP
