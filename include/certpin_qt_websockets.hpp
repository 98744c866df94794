/*
 * certpin_qt_websockets.hpp: certificate pinning for QWebSocket (Qt WebSockets,
 * Qt 5.15 and Qt 6). Included by certpin_qt.hpp when the application links
 * Qt WebSockets (QT_WEBSOCKETS_LIB); include it yourself otherwise.
 *
 *     QWebSocket socket;
 *     certpin::install(&socket, policy, [](const certpin::Verdict &v) { qWarning() << v.message; });
 *     socket.open(QUrl("wss://api.example.com/live"));
 *
 * A QWebSocket opens its own QSslSocket, a child of it, for each open(); it
 * writes the upgrade request (with the request's cookies and tokens) into
 * that socket when TCP connects, and the socket sends it once its handshake
 * is done. install() pins each of those sockets as install(QSslSocket *)
 * does: judged in `encrypted`, for the host of the URL being opened, and
 * aborted there on a rejection, which discards the upgrade request before a
 * byte of it leaves; `sslErrors` are ignored only where certpin vouched for
 * the chain. A refusal ends the QWebSocket (`disconnected`);
 * certpin::verdictOf(&socket) says why.
 */
#ifndef CERTPIN_QT_WEBSOCKETS_HPP
#define CERTPIN_QT_WEBSOCKETS_HPP

#include "certpin_qt.hpp"

#include <QtWebSockets/QWebSocket>

namespace certpin {

/// Pins every connection `socket` opens to `policy`, from the next open();
/// installing again replaces the policy. Call before open(). On a rejection
/// `onReject` is called (it must not block) and the connection is aborted.
inline void install(QWebSocket *socket, const Policy &policy, std::function<void(const Verdict &)> onReject = {});

namespace detail {

/// The pinning state of one QWebSocket, a child of it: pins each QSslSocket
/// the QWebSocket makes (a child of it too).
class WebSocketGuard : public QObject {
public:
    using RejectHandler = std::function<void(const Verdict &)>;

    static constexpr const char *kName = "certpin::WebSocketGuard";

    explicit WebSocketGuard(QWebSocket *socket) : QObject(socket), m_socket(socket)
    {
        setObjectName(QLatin1String(kName));
        socket->installEventFilter(this);
    }

    void setPolicy(const Policy &policy, RejectHandler onReject)
    {
        m_policy = policy;
        m_onReject = std::move(onReject);
        for (QSslSocket *tls : m_socket->findChildren<QSslSocket *>(QString(), Qt::FindDirectChildrenOnly))
            pin(tls);
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (watched == m_socket && event->type() == QEvent::ChildAdded) {
            // The socket is being constructed (only its QObject part exists);
            // pinned once control is back in the event loop, which is before
            // any of its network events, its handshake included.
            QPointer<QObject> child(static_cast<QChildEvent *>(event)->child());
            if (child && child != this) {
                QMetaObject::invokeMethod(
                    this,
                    [this, child] {
                        if (auto *tls = qobject_cast<QSslSocket *>(child.data()))
                            pin(tls);
                    },
                    Qt::QueuedConnection);
            }
        }
        return QObject::eventFilter(watched, event);
    }

private:
    void pin(QSslSocket *tls)
    {
        install(tls, m_policy, m_onReject);
        if (auto *guard = guardOf<SocketGuard>(tls))
            guard->alsoRefuses(m_socket);
    }

    QWebSocket *m_socket;
    Policy m_policy;
    RejectHandler m_onReject;
};

} // namespace detail

inline void install(QWebSocket *socket, const Policy &policy, std::function<void(const Verdict &)> onReject)
{
    if (socket)
        detail::guardFor<detail::WebSocketGuard>(socket)->setPolicy(policy, std::move(onReject));
}

} // namespace certpin

#endif // CERTPIN_QT_WEBSOCKETS_HPP
