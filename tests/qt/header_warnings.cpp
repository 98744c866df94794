// certpin_qt.hpp compiled the way an application's own code is compiled.
// Through the certpin::certpin target its folder is a system include folder,
// where compilers hide warnings; included by path here, it is not, and it
// must pass a strict warning set (tests/qt/CMakeLists.txt) with Qt 5 and 6.
#include "../../include/certpin_qt.hpp"
#include "../../include/certpin_qt_updater.hpp"

// Instantiates what a header-only library leaves uninstantiated until used.
void certpinQtHeaderWarnings(QNetworkAccessManager *manager, QSslSocket *socket);
void certpinQtHeaderWarnings(QNetworkAccessManager *manager, QSslSocket *socket)
{
    const certpin::Policy policy = certpin::Policy::fromPem(QByteArray());
    certpin::install(manager, policy, [](QNetworkReply *, const certpin::Verdict &) {});
    certpin::install(socket, policy, [](const certpin::Verdict &) {});
    certpin::install(socket, policy, QStringLiteral("example.com"), [](const certpin::Verdict &) {});
    certpin::setProxyFactory(manager, nullptr);
    (void)policy.verify({}, QStringLiteral("example.com")).ok();
    (void)certpin::Policy::fromFile(QStringLiteral(":/pins.json")).isValid();
    const certpin::Policy update = certpin::Policy::fromUpdate(QByteArray(), {QStringLiteral("ed25519/x")}, 0);
    (void)update.updateSequence();
    (void)update.updateExpiry();
    certpin::PolicyUpdater updater(policy, {QStringLiteral("ed25519/x")}, QUrl());
    updater.addManager(manager);
    updater.addSocket(socket);
    updater.addInstaller([](const certpin::Policy &) {});
    updater.setOutcomeHandler([](const certpin::UpdateOutcome &o) { (void)o.kindName(); });
    updater.start();
    updater.checkNow();
    (void)updater.offer(QByteArray());
}
