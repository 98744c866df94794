/*
 * certpin_qt_qml.hpp: certificate pinning for everything a QML engine fetches
 * (Qt Qml, Qt 5.15 and Qt 6). Included by certpin_qt.hpp when the
 * application links Qt Qml (QT_QML_LIB); include it yourself otherwise.
 *
 *     QQmlApplicationEngine engine;
 *     if (!certpin::install(&engine, policy))
 *         qFatal("the engine already has a network access manager factory");
 *     engine.load(QUrl("qrc:/main.qml"));
 *
 * A QML engine makes its QNetworkAccessManagers through its
 * QQmlNetworkAccessManagerFactory: the one networkAccessManager() returns,
 * and one per thread that fetches (XMLHttpRequest, Image, Loader, fonts,
 * WorkerScript). install() gives the engine a factory whose every manager
 * is a certpin::NetworkAccessManager under `policy`, and pins the engine's
 * own manager even when it was made before. Install before the engine loads
 * anything. The QML WebSocket type (Qt WebSockets) keeps its QWebSocket to
 * itself, where nothing can reach it: use certpin's PinnedWebSocket instead
 * (certpin_qt_qml_websocket.hpp; README, "Which Qt traffic certpin covers").
 */
#ifndef CERTPIN_QT_QML_HPP
#define CERTPIN_QT_QML_HPP

#include "certpin_qt.hpp"

#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlNetworkAccessManagerFactory>

namespace certpin {

/// Pins every QNetworkAccessManager `engine` makes, in any thread, to
/// `policy`; installing again replaces the policy, on the managers made
/// already too. `onReject` is called in the thread of the manager of the
/// refused reply (it must not block). An engine that has a factory of its
/// own is left as it is: install() then warns and returns false.
inline bool install(QQmlEngine *engine, const Policy &policy,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject = {});

namespace detail {

/// The engine's factory. create() is called from any thread that fetches,
/// so its state is behind a mutex; a manager is re-pinned in its own thread.
class QmlManagerFactory : public QQmlNetworkAccessManagerFactory {
public:
    using RejectHandler = std::function<void(QNetworkReply *, const Verdict &)>;

    QmlManagerFactory() : m_state(std::make_shared<State>()) {}

    QNetworkAccessManager *create(QObject *parent) override
    {
        QMutexLocker lock(&m_state->mutex);
        auto *manager = new NetworkAccessManager(m_state->policy, m_state->onReject, parent);
        m_state->managers.append(manager);
        // The state outlives the factory for as long as a manager does: the
        // engine deletes its children (the factory's owner, the managers) in
        // no set order.
        const std::shared_ptr<State> state = m_state;
        QObject::connect(
            manager, &QObject::destroyed, manager,
            [state, manager] {
                QMutexLocker gone(&state->mutex);
                state->managers.removeAll(manager);
            },
            Qt::DirectConnection);
        return manager;
    }

    void setPolicy(const Policy &policy, RejectHandler onReject)
    {
        QMutexLocker lock(&m_state->mutex);
        m_state->policy = policy;
        m_state->onReject = onReject;
        for (NetworkAccessManager *manager : m_state->managers) {
            QMetaObject::invokeMethod(
                manager, [manager, policy, onReject] { manager->setPolicy(policy, onReject); },
                Qt::AutoConnection);
        }
    }

private:
    struct State {
        QMutex mutex;
        Policy policy;
        RejectHandler onReject;
        /// The managers alive; each removes itself as it goes, in its thread.
        QList<NetworkAccessManager *> managers;
    };
    std::shared_ptr<State> m_state;
};

/// Owns the factory for as long as the engine lives (the engine does not
/// own its factory), a child of the engine.
class QmlGuard : public QObject {
public:
    static constexpr const char *kName = "certpin::QmlGuard";

    explicit QmlGuard(QQmlEngine *engine) : QObject(engine) { setObjectName(QLatin1String(kName)); }

    QmlManagerFactory *factory() { return &m_factory; }

private:
    QmlManagerFactory m_factory;
};

} // namespace detail

inline bool install(QQmlEngine *engine, const Policy &policy,
                    std::function<void(QNetworkReply *, const Verdict &)> onReject)
{
    if (!engine)
        return false;
    const bool first = !detail::guardOf<detail::QmlGuard>(engine);
    if (first && engine->networkAccessManagerFactory()) {
        qWarning("certpin: the QQmlEngine has a QQmlNetworkAccessManagerFactory of its own; it is left as it "
                 "is and the engine's fetches are NOT pinned. Pin the managers that factory makes "
                 "(certpin::NetworkAccessManager, or certpin::install on each) instead.");
        return false;
    }
    detail::QmlGuard *guard = detail::guardFor<detail::QmlGuard>(engine);
    guard->factory()->setPolicy(policy, onReject);
    if (first)
        engine->setNetworkAccessManagerFactory(guard->factory());
    // Made by the factory now, unless the engine made it before: then it is
    // pinned as a manager made elsewhere.
    QNetworkAccessManager *own = engine->networkAccessManager();
    if (own && !dynamic_cast<NetworkAccessManager *>(own)) {
        qWarning("certpin: the QQmlEngine made its QNetworkAccessManager before certpin::install(); it is pinned "
                 "as a manager made elsewhere, without held handshakes (SECURITY.md). Install before the engine "
                 "loads anything or is asked for its manager.");
        install(own, policy, std::move(onReject));
    }
    return true;
}

} // namespace certpin

#endif // CERTPIN_QT_QML_HPP
