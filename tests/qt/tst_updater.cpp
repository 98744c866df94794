// certpin::PolicyUpdater end to end: keys and updates made at run time by
// the `certpin` tool, the update served over HTTPS from 127.0.0.1 by a
// server the built-in policy pins, and every policy change shown with a real
// request. The built-in policy trusts only the company CA; the updates also
// trust the pinned self-signed server, so "the update is in force" is "a
// request to that server succeeds" (and fails again when it is not).
//
// Interrupted state writes run in a child process (this binary, started with
// --offer-update) whose file size limit (RLIMIT_FSIZE) makes the kernel kill
// it with SIGXFSZ in the middle of the write, at a chosen byte, or fail the
// write the way a full disk does (SIGXFSZ ignored: EFBIG).
//
//     certpin-qt-updater [-functions] [testFunction[:row]]   (QtTest)
#include "loopback_world.hpp"

#include "certpin_qt_updater.hpp"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpServer>

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstring>

namespace {

using certpin::UpdateOutcome;

/// The `certpin` tool (CERTPIN_CLI, built by CMake), run in a scratch folder.
class Tool {
public:
    /// Runs the tool; its standard output. A failure to run or a non-zero
    /// exit ends the test binary: nothing after it would mean anything.
    QByteArray run(const QStringList &arguments)
    {
        QProcess process;
        process.start(QStringLiteral(CERTPIN_CLI), arguments);
        if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit
            || process.exitCode() != 0) {
            qFatal("certpin %s failed: %s %s", qPrintable(arguments.join(QLatin1Char(' '))),
                   qPrintable(process.errorString()), process.readAllStandardError().constData());
        }
        return process.readAllStandardOutput();
    }
    /// A new signing key `name`; its public key ("ed25519/...").
    QString keygen(const QString &name)
    {
        return QString::fromLatin1(
            run({QStringLiteral("update"), QStringLiteral("keygen"), QStringLiteral("--out"), path(name)}).trimmed());
    }
    /// `policy` signed by key `name` as update `sequence`, expiring at
    /// `expires` (judged at `at` when given).
    QByteArray sign(const QString &name, quint64 sequence, const QString &expires, const QByteArray &policy,
                    const QString &at = QString())
    {
        const QString file = path(QStringLiteral("policy-%1.json").arg(++m_policies));
        QFile out(file);
        if (!out.open(QIODevice::WriteOnly) || out.write(policy) != policy.size())
            qFatal("cannot write %s", qPrintable(file));
        out.close();
        QStringList arguments{QStringLiteral("update"), QStringLiteral("sign"),       QStringLiteral("--key"),
                              path(name),               QStringLiteral("--sequence"), QString::number(sequence),
                              QStringLiteral("--expires"), expires};
        if (!at.isEmpty())
            arguments << QStringLiteral("--at") << at;
        return run(arguments << file);
    }
    QString path(const QString &name) const { return m_dir.filePath(name); }

private:
    QTemporaryDir m_dir;
    int m_policies = 0;
};

/// What every test uses, made once.
struct Fixture {
    Tool tool;
    QString trustedKey;
    QByteArray builtInJson;
    QByteArray widerJson;
    /// Updates 1, 2, 3 of the wider policy by the trusted key; 2 again with
    /// other contents; 3 by a key the application does not trust.
    QByteArray update1, update2, update2Other, update3, update3Stranger;
};

Fixture &fixture()
{
    static Fixture *f = [] {
        auto *made = new Fixture;
        const demo::World &w = world();
        made->trustedKey = made->tool.keygen(QStringLiteral("trusted.pem"));
        (void)made->tool.keygen(QStringLiteral("stranger.pem"));
        made->builtInJson = demo::policyJson(demo::loopbackRule({w.companyRoot.certificate}));
        made->widerJson = demo::policyJson(demo::loopbackRule({w.companyRoot.certificate, w.selfSigned.certificate}));
        const QString month = QDateTime::currentDateTimeUtc().addDays(30).date().toString(Qt::ISODate);
        const QString trusted = QStringLiteral("trusted.pem");
        made->update1 = made->tool.sign(trusted, 1, month, made->widerJson);
        made->update2 = made->tool.sign(trusted, 2, month, made->widerJson);
        made->update2Other = made->tool.sign(
            trusted, 2, month,
            demo::policyJson(demo::loopbackRule({w.companyRoot.certificate, w.selfSigned.certificate}),
                             QStringLiteral("allow")));
        made->update3 = made->tool.sign(trusted, 3, month, made->widerJson);
        // Its payload differs from update 3's (a signature cannot be moved over).
        made->update3Stranger = made->tool.sign(
            QStringLiteral("stranger.pem"), 3, month,
            demo::policyJson(demo::loopbackRule({w.companyRoot.certificate, w.selfSigned.certificate}),
                             QStringLiteral("allow")));
        return made;
    }();
    return *f;
}

certpin::Policy builtIn()
{
    return policy(fixture().builtInJson);
}

/// The state file as PolicyUpdater writes it.
QByteArray stateJson(const QString &sequence, const QByteArray &update)
{
    QJsonObject object;
    object.insert(QStringLiteral("certpin_update_state"), 1);
    object.insert(QStringLiteral("sequence"), sequence);
    object.insert(QStringLiteral("update"), QString::fromLatin1(update.toBase64()));
    return QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeAll(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(bytes) == bytes.size();
}

/// An update whose signed payload was changed by `edit` (the signature left as it was).
QByteArray withPayload(const QByteArray &update, const std::function<QByteArray(QByteArray)> &edit)
{
    QJsonObject object = QJsonDocument::fromJson(update).object();
    const QByteArray payload = QByteArray::fromBase64(object.value(QStringLiteral("payload")).toString().toLatin1());
    const QByteArray edited = edit(payload);
    if (edited == payload)
        qFatal("the edit left the payload as it was: %s", payload.left(60).constData());
    object.insert(QStringLiteral("payload"), QString::fromLatin1(edited.toBase64()));
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

/// An update whose signatures were changed by `edit`.
QByteArray withSignatures(const QByteArray &update, const std::function<QJsonArray(QJsonArray)> &edit)
{
    QJsonObject object = QJsonDocument::fromJson(update).object();
    object.insert(QStringLiteral("signatures"), edit(object.value(QStringLiteral("signatures")).toArray()));
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QString describe(const UpdateOutcome &o)
{
    return QStringLiteral("%1 (%2, sequence %3): %4")
        .arg(o.kindName(), QString::fromLatin1(pin_result_name(static_cast<int>(o.result))))
        .arg(o.sequence)
        .arg(o.message);
}

/// An updater under test with what it guards: a manager whose requests to
/// the pinned self-signed server show which policy is in force, and the
/// HTTPS server the updates come from (the company's, pinned by the built-in
/// policy).
struct Rig {
    QTemporaryDir dir;
    std::unique_ptr<LoopbackServer> updates = serve(QStringLiteral("updates"), world().companyServer);
    std::unique_ptr<LoopbackServer> pinned = serve(QStringLiteral("self-signed"), world().selfSigned);
    QNetworkAccessManager probe;
    QList<UpdateOutcome> outcomes;
    std::unique_ptr<certpin::PolicyUpdater> updater;
    /// The outcomes of fetches and offers, and how many fetched() returned.
    QList<UpdateOutcome> fetches;
    int taken = 0;

    QString statePath() const { return dir.filePath(QStringLiteral("state/certpin-update-state.json")); }
    QUrl updateUrl() const { return QUrl(updates->url(QStringLiteral("/pins-update.json"))); }

    /// A new updater (replacing the previous one, as a restart does) for
    /// `url`, guarding the probe, not started.
    certpin::PolicyUpdater &make(const QUrl &url, const QString &state = QString())
    {
        updater.reset();
        outcomes.clear();
        fetches.clear();
        taken = 0;
        updater = std::make_unique<certpin::PolicyUpdater>(builtIn(), QStringList{fixture().trustedKey}, url);
        updater->setStatePath(state.isEmpty() ? statePath() : state);
        updater->setTimeout(2000);
        updater->setOutcomeHandler([this](const UpdateOutcome &o) {
            outcomes.append(o);
            if (o.kind != UpdateOutcome::Loaded && o.kind != UpdateOutcome::BuiltIn)
                fetches.append(o);
            qInfo("outcome: %s", qPrintable(describe(o)));
        });
        updater->addManager(&probe);
        return *updater;
    }
    /// Whether a real request to the pinned self-signed server succeeds.
    bool probeAccepted()
    {
        const Outcome o = demo::fetch(probe, demo::makeRequest(pinned->url()), 5000);
        return o.succeeded();
    }
    /// Waits (bounded) for the next fetch to end; its outcome (an empty
    /// "fetch failed" when none came).
    UpdateOutcome fetched()
    {
        (void)QTest::qWaitFor([&] { return !updater->isFetching() && fetches.size() > taken; }, 10000);
        return fetches.size() > taken ? fetches.at(taken++) : UpdateOutcome();
    }
    /// The state holding `update` (stored by an updater that offers it).
    void storeState(const QByteArray &update)
    {
        make(QUrl()).start();
        const UpdateOutcome o = updater->offer(update);
        if (o.kind != UpdateOutcome::Applied || !o.stateError.isEmpty())
            qFatal("storing the state failed: %s", qPrintable(describe(o)));
        updater.reset();
        outcomes.clear();
        fetches.clear();
    }
};

/// The outcome (an expression evaluated once) is of this kind.
#define VERIFY_OUTCOME(outcome, expectedKind)                                                                        \
    do {                                                                                                             \
        const UpdateOutcome verified = (outcome);                                                                    \
        QVERIFY2(verified.kind == UpdateOutcome::expectedKind, qPrintable(describe(verified)));                      \
    } while (false)

/// The child process of interruptedWrite: offers an update under a file
/// size limit. Arguments: built-in policy file, trusted key, state path,
/// update file, limit in bytes (-1: none), "kill" or "fail".
int offerUpdateChild(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList a = app.arguments();
    if (a.size() != 8)
        return 64;
    const certpin::Policy builtInPolicy = certpin::Policy::fromFile(a.at(2));
    certpin::PolicyUpdater updater(builtInPolicy, {a.at(3)}, QUrl());
    updater.setStatePath(a.at(4));
    updater.start();
    const QByteArray update = readAll(a.at(5));
    const qlonglong limit = a.at(6).toLongLong();
    if (a.at(7) == QLatin1String("fail"))
        std::signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG, as on a full disk
    if (limit >= 0) {
        rlimit fsize{};
        fsize.rlim_cur = static_cast<rlim_t>(limit);
        fsize.rlim_max = static_cast<rlim_t>(limit);
        if (setrlimit(RLIMIT_FSIZE, &fsize) != 0)
            return 65;
    }
    const UpdateOutcome o = updater.offer(update);
    std::printf("%s\n", qPrintable(describe(o)));
    return o.kind == UpdateOutcome::Applied ? 0 : 1;
}

} // namespace

class Updater : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { (void)fixture(); }

    void appliesNewerUpdate();
    void refusesReplay();
    void refusesUntrusted_data();
    void refusesUntrusted();
    void corruptStateFallsBack_data();
    void corruptStateFallsBack();
    void interruptedWrite_data();
    void interruptedWrite();
    void stateFolderUnwritable();
    void failingServer_data();
    void failingServer();
    void expiryRestoresBuiltIn();
    void expiredStoredUpdateAtStart();
};

/// The positive control: a valid newer update is fetched, stored, and put in
/// force on every manager, socket and installer; fetched again it is
/// "unchanged"; after a restart it is in force from the state alone.
void Updater::appliesNewerUpdate()
{
    const Fixture &f = fixture();
    Rig rig;
    rig.updates->setBody(f.update2);
    certpin::PolicyUpdater &updater = rig.make(rig.updateUrl());
    quint64 installed = 99;
    updater.addInstaller([&installed](const certpin::Policy &p) { installed = p.updateSequence(); });
    QCOMPARE(installed, quint64(0));
    {
        // A manager deleted before the update is skipped.
        auto *gone = new QNetworkAccessManager;
        updater.addManager(gone);
        delete gone;
    }
    RequestingSocket before(QSslConfiguration::defaultConfiguration());
    updater.addSocket(&before.socket);
    before.run(rig.pinned->port());
    QVERIFY2(!before.received.contains("hello from"), before.received.constData());
    QVERIFY(!rig.probeAccepted());

    updater.start();
    QVERIFY(!rig.outcomes.isEmpty());
    VERIFY_OUTCOME(rig.outcomes.first(), BuiltIn);
    QVERIFY2(rig.outcomes.first().message.contains(QLatin1String("no update stored")),
             qPrintable(rig.outcomes.first().message));
    // start() only began the fetch.
    QVERIFY(updater.isFetching());
    const UpdateOutcome applied = rig.fetched();
    VERIFY_OUTCOME(applied, Applied);
    QCOMPARE(applied.sequence, quint64(2));
    QVERIFY2(applied.stateError.isEmpty(), qPrintable(applied.stateError));
    QVERIFY(applied.expires > QDateTime::currentDateTimeUtc());
    QCOMPARE(updater.sequence(), quint64(2));
    QCOMPARE(installed, quint64(2));
    QVERIFY(rig.probeAccepted());
    RequestingSocket after(QSslConfiguration::defaultConfiguration());
    updater.addSocket(&after.socket);
    after.run(rig.pinned->port());
    QVERIFY2(after.received.startsWith("HTTP/1.1 200"), after.received.constData());
    QCOMPARE(readAll(rig.statePath()), stateJson(QStringLiteral("2"), f.update2));

    updater.checkNow();
    VERIFY_OUTCOME(rig.fetched(), Unchanged);
    QCOMPARE(rig.updates->requests(), 2);

    // A restart, offline (no URL): the stored update is in force again.
    rig.make(QUrl()).start();
    VERIFY_OUTCOME(rig.outcomes.last(), Loaded);
    QCOMPARE(rig.outcomes.last().sequence, quint64(2));
    QVERIFY(rig.probeAccepted());
}

/// An older update, or another update with the sequence in force, is never
/// applied: not while running, not after a restart.
void Updater::refusesReplay()
{
    const Fixture &f = fixture();
    Rig rig;
    rig.updates->setBody(f.update2);
    rig.make(rig.updateUrl()).start();
    VERIFY_OUTCOME(rig.fetched(), Applied);
    const QByteArray state = readAll(rig.statePath());

    for (const QByteArray &replay : {f.update1, f.update2Other}) {
        rig.updates->setBody(replay);
        rig.updater->checkNow();
        const UpdateOutcome o = rig.fetched();
        VERIFY_OUTCOME(o, Refused);
        QCOMPARE(o.result, PIN_ERR_UPDATE_ROLLBACK);
        QCOMPARE(rig.updater->sequence(), quint64(2));
        QCOMPARE(readAll(rig.statePath()), state);
    }
    rig.updates->setBody(f.update1);
    rig.make(rig.updateUrl()).start();
    VERIFY_OUTCOME(rig.outcomes.first(), Loaded);
    const UpdateOutcome o = rig.fetched();
    VERIFY_OUTCOME(o, Refused);
    QCOMPARE(o.result, PIN_ERR_UPDATE_ROLLBACK);
    QCOMPARE(rig.updater->policy().updateSequence(), quint64(2));
    QVERIFY(rig.probeAccepted());
    QCOMPARE(readAll(rig.statePath()), state);
}

void Updater::refusesUntrusted_data()
{
    const Fixture &f = fixture();
    QTest::addColumn<QByteArray>("update");
    QTest::addColumn<int>("result");
    QTest::newRow("signed by an unknown key") << f.update3Stranger << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("payload changed") << withPayload(f.update3, [](QByteArray p) {
        return p.replace("\"sequence\": 3", "\"sequence\": 9");
    }) << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("payload changed by one bit") << withPayload(f.update3, [](QByteArray p) {
        p[p.size() / 2] = static_cast<char>(p.at(p.size() / 2) ^ 0x01);
        return p;
    }) << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("signature changed") << withSignatures(f.update3, [](QJsonArray s) {
        QJsonObject first = s.at(0).toObject();
        QByteArray sig = QByteArray::fromBase64(first.value(QStringLiteral("sig")).toString().toLatin1());
        sig[0] = static_cast<char>(sig.at(0) ^ 0x01);
        first.insert(QStringLiteral("sig"), QString::fromLatin1(sig.toBase64()));
        s.replace(0, first);
        return s;
    }) << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("the trusted key's signature moved to the stranger's update")
        << withSignatures(f.update3Stranger, [&f](QJsonArray) {
               return QJsonDocument::fromJson(f.update3).object().value(QStringLiteral("signatures")).toArray();
           })
        << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("no signature") << withSignatures(f.update3, [](QJsonArray) { return QJsonArray(); })
                                  << int(PIN_ERR_UPDATE_SIGNATURE);
}

/// An update no trusted key signed is refused and changes nothing; the
/// valid update 3 served next is applied (the refusal was the signature's).
void Updater::refusesUntrusted()
{
    QFETCH(QByteArray, update);
    QFETCH(int, result);
    Rig rig;
    rig.updates->setBody(update);
    rig.make(rig.updateUrl()).start();
    const UpdateOutcome o = rig.fetched();
    VERIFY_OUTCOME(o, Refused);
    QVERIFY2(o.result == result, qPrintable(describe(o)));
    QCOMPARE(rig.updater->sequence(), quint64(0));
    QVERIFY(!QFile::exists(rig.statePath()));
    QVERIFY(!rig.probeAccepted());

    rig.updates->setBody(fixture().update3);
    rig.updater->checkNow();
    VERIFY_OUTCOME(rig.fetched(), Applied);
    QVERIFY(rig.probeAccepted());
}

void Updater::corruptStateFallsBack_data()
{
    const Fixture &f = fixture();
    const QByteArray good = stateJson(QStringLiteral("1"), f.update1);
    QTest::addColumn<QByteArray>("state");
    QTest::addColumn<int>("result");
    QTest::newRow("empty") << QByteArray() << int(PIN_ERR_POLICY_SYNTAX);
    const int size = int(good.size());
    for (const int length : {1, 20, size / 3, size / 2, size - 3})
        QTest::addRow("torn at byte %d of %d", length, size) << good.left(length) << int(PIN_ERR_POLICY_SYNTAX);
    QTest::newRow("zeros") << QByteArray(4096, '\0') << int(PIN_ERR_POLICY_SYNTAX);
    QTest::newRow("binary") << QByteArray::fromHex("ff fe 00 7b 22 c3 28 a0 a1 e2 82 28") << int(PIN_ERR_POLICY_SYNTAX);
    QTest::newRow("a JSON array") << QByteArray("[1, 2]") << int(PIN_ERR_POLICY_SYNTAX);
    QTest::newRow("another format")
        << QByteArray(good).replace("\"certpin_update_state\":1", "\"certpin_update_state\":2")
        << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("unknown key") << QByteArray(good).replace("{", "{\"extra\":true,") << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("sequence a number") << QByteArray(good).replace("\"sequence\":\"1\"", "\"sequence\":1")
                                       << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("sequence 0") << stateJson(QStringLiteral("0"), f.update1) << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("sequence negative") << stateJson(QStringLiteral("-1"), f.update1) << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("sequence over 64 bits") << stateJson(QStringLiteral("18446744073709551616"), f.update1)
                                           << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("update not base64") << QByteArray(good).replace("\"update\":\"", "\"update\":\"%%")
                                       << int(PIN_ERR_POLICY_INVALID);
    QTest::newRow("update torn") << stateJson(QStringLiteral("1"), f.update1.left(f.update1.size() / 2))
                                 << int(PIN_ERR_POLICY_SYNTAX);
    QTest::newRow("update changed") << stateJson(QStringLiteral("1"), withPayload(f.update1, [](QByteArray p) {
                                           return p.replace("\"sequence\": 1", "\"sequence\": 7");
                                       })) << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("update by an unknown key")
        << stateJson(QStringLiteral("1"), f.update3Stranger) << int(PIN_ERR_UPDATE_SIGNATURE);
    QTest::newRow("a folder") << QByteArray() << int(PIN_ERR_POLICY_IO);
}

/// A torn, corrupt or unusable state file: the updater starts on the
/// built-in policy, says why, and is not stuck there (update 2 is applied
/// and stored over the bad file).
void Updater::corruptStateFallsBack()
{
    QFETCH(QByteArray, state);
    QFETCH(int, result);
    Rig rig;
    const bool folder = QByteArray(QTest::currentDataTag()) == "a folder";
    if (folder)
        QVERIFY(QDir().mkpath(rig.statePath()));
    else
        QVERIFY(writeAll(rig.statePath(), state));
    rig.updates->setBody(fixture().update2);
    rig.make(rig.updateUrl()).start();
    QVERIFY(!rig.outcomes.isEmpty());
    const UpdateOutcome first = rig.outcomes.first();
    VERIFY_OUTCOME(first, BuiltIn);
    QVERIFY2(first.result == result, qPrintable(describe(first)));
    QVERIFY2(first.message.contains(QLatin1String("built-in policy in force")), qPrintable(first.message));
    QCOMPARE(rig.updater->sequence(), quint64(0));

    const UpdateOutcome o = rig.fetched();
    VERIFY_OUTCOME(o, Applied);
    QVERIFY(rig.probeAccepted());
    if (folder) {
        QVERIFY2(!o.stateError.isEmpty(), qPrintable(describe(o)));
    } else {
        QVERIFY2(o.stateError.isEmpty(), qPrintable(describe(o)));
        QCOMPARE(readAll(rig.statePath()), stateJson(QStringLiteral("2"), fixture().update2));
    }
}

void Updater::interruptedWrite_data()
{
    // The new state's size: the limits below cut its write short.
    const int size = int(stateJson(QStringLiteral("3"), fixture().update3).size());
    QTest::addColumn<qlonglong>("limit");
    QTest::addColumn<QString>("mode");
    QTest::addColumn<bool>("newState");
    QTest::newRow("killed before the first byte") << 0LL << QStringLiteral("kill") << false;
    QTest::newRow("killed after 1 byte") << 1LL << QStringLiteral("kill") << false;
    QTest::addRow("killed half-way (byte %d of %d)", size / 2, size)
        << qlonglong(size / 2) << QStringLiteral("kill") << false;
    QTest::addRow("killed one byte short (byte %d of %d)", size - 1, size)
        << qlonglong(size - 1) << QStringLiteral("kill") << false;
    QTest::newRow("disk full half-way") << qlonglong(size / 2) << QStringLiteral("fail") << false;
    QTest::newRow("written in full") << -1LL << QStringLiteral("kill") << true;
}

/// A state write cut short (the process killed by the kernel in the middle
/// of the write at a given byte, or the write failing as on a full disk)
/// leaves the old state, byte for byte, and the next start uses it; a write
/// that completes leaves the new state.
void Updater::interruptedWrite()
{
    QFETCH(qlonglong, limit);
    QFETCH(QString, mode);
    QFETCH(bool, newState);
    const Fixture &f = fixture();
    Rig rig;
    rig.storeState(f.update2);
    const QByteArray old = readAll(rig.statePath());
    QCOMPARE(old, stateJson(QStringLiteral("2"), f.update2));

    const QString policyFile = rig.dir.filePath(QStringLiteral("built-in.json"));
    const QString updateFile = rig.dir.filePath(QStringLiteral("update-3.json"));
    QVERIFY(writeAll(policyFile, f.builtInJson));
    QVERIFY(writeAll(updateFile, f.update3));
    QProcess child;
    child.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("--offer-update"), policyFile, f.trustedKey, rig.statePath(), updateFile,
                 QString::number(limit), mode});
    QVERIFY(child.waitForFinished(30000));
    const QByteArray said = child.readAllStandardOutput() + child.readAllStandardError();
    if (mode == QLatin1String("kill") && !newState) {
        QVERIFY2(child.exitStatus() == QProcess::CrashExit, said.constData()); // killed by SIGXFSZ
    } else {
        QVERIFY2(child.exitStatus() == QProcess::NormalExit && child.exitCode() == 0, said.constData());
        QVERIFY2(said.startsWith("applied"), said.constData());
        // A failed write is said: the update was in force for that run only.
        QVERIFY2(said.contains("for this run only") == !newState, said.constData());
    }
    const QStringList left = QDir(QFileInfo(rig.statePath()).absolutePath()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
    qInfo("left in the state folder: %s", qPrintable(left.join(QStringLiteral(", "))));
    const QString name = QFileInfo(rig.statePath()).fileName();
    for (const QString &entry : left)
        QVERIFY2(entry == name || entry.startsWith(name + QLatin1Char('.')), qPrintable(entry));
    const QByteArray now = readAll(rig.statePath());
    QCOMPARE(now, newState ? stateJson(QStringLiteral("3"), f.update3) : old);

    rig.make(QUrl()).start();
    VERIFY_OUTCOME(rig.outcomes.last(), Loaded);
    QCOMPARE(rig.outcomes.last().sequence, newState ? quint64(3) : quint64(2));
}

/// The state cannot be stored at all (its folder's place is taken by a
/// file, which stops root too): the update is in force for this run, the
/// outcome says it was not stored, and the next start is on the built-in
/// policy as before.
void Updater::stateFolderUnwritable()
{
    Rig rig;
    const QString file = rig.dir.filePath(QStringLiteral("a-file"));
    QVERIFY(writeAll(file, "not a folder"));
    const QString state = file + QStringLiteral("/certpin-update-state.json");
    rig.updates->setBody(fixture().update2);
    rig.make(rig.updateUrl(), state).start();
    const UpdateOutcome o = rig.fetched();
    VERIFY_OUTCOME(o, Applied);
    QVERIFY2(!o.stateError.isEmpty() && o.message.contains(QLatin1String("for this run only")), qPrintable(describe(o)));
    QVERIFY(rig.probeAccepted());
    QCOMPARE(readAll(file), QByteArray("not a folder"));

    rig.make(QUrl(), state).start();
    VERIFY_OUTCOME(rig.outcomes.last(), BuiltIn);
    QVERIFY(!rig.probeAccepted());
}

void Updater::failingServer_data()
{
    QTest::addColumn<QString>("server");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("words");
    QTest::newRow("unreachable") << QStringLiteral("closed port") << int(UpdateOutcome::FetchFailed)
                                 << QStringLiteral("refused");
    QTest::newRow("never answers") << QStringLiteral("silent") << int(UpdateOutcome::FetchFailed)
                                   << QStringLiteral("no complete answer within 2000 ms");
    QTest::newRow("huge") << QStringLiteral("huge") << int(UpdateOutcome::FetchFailed)
                          << QStringLiteral("over the limit of 1048576");
    QTest::newRow("valid, over a lower limit") << QStringLiteral("over the limit") << int(UpdateOutcome::FetchFailed)
                                               << QStringLiteral("over the limit of 1000");
    QTest::newRow("garbage") << QStringLiteral("garbage") << int(UpdateOutcome::Refused)
                             << QStringLiteral("PIN_ERR_POLICY_SYNTAX");
    QTest::newRow("not pinned") << QStringLiteral("stranger") << int(UpdateOutcome::FetchFailed)
                                << QStringLiteral("refused by pinning: PIN_ERR_UNTRUSTED");
}

/// An update server that is down, silent, huge, hostile or not the pinned
/// one: the fetch ends within its bound, the application's requests go on
/// meanwhile, and update 2 stays in force and stored.
void Updater::failingServer()
{
    QFETCH(QString, server);
    QFETCH(int, kind);
    QFETCH(QString, words);
    const Fixture &f = fixture();
    Rig rig;
    rig.storeState(f.update2);
    const QByteArray state = readAll(rig.statePath());

    std::unique_ptr<LoopbackServer> stranger;
    QUrl url = rig.updateUrl();
    if (server == QLatin1String("closed port")) {
        QTcpServer closed;
        QVERIFY(closed.listen(QHostAddress(QHostAddress::LocalHost), 0));
        url = QUrl(QStringLiteral("https://127.0.0.1:%1/pins-update.json").arg(closed.serverPort()));
    } else if (server == QLatin1String("silent")) {
        rig.updates->setMode(LoopbackServer::Mode::Silent);
    } else if (server == QLatin1String("huge")) {
        rig.updates->setBody(QByteArray(4 * 1024 * 1024, 'x'));
    } else if (server == QLatin1String("over the limit")) {
        rig.updates->setBody(f.update3);
    } else if (server == QLatin1String("garbage")) {
        rig.updates->setBody(QByteArray("<html>503 Service Unavailable</html>"));
    } else if (server == QLatin1String("stranger")) {
        stranger = serve(QStringLiteral("stranger"), world().strangerSelfSigned);
        stranger->setBody(f.update3);
        url = QUrl(stranger->url(QStringLiteral("/pins-update.json")));
    }
    certpin::PolicyUpdater &updater = rig.make(url);
    if (server == QLatin1String("over the limit"))
        updater.setMaximumSize(1000);
    updater.start();
    VERIFY_OUTCOME(rig.outcomes.first(), Loaded);
    QVERIFY(updater.isFetching());
    // The application's own requests are served while the fetch is under way.
    QVERIFY(rig.probeAccepted());
    if (server == QLatin1String("silent"))
        QVERIFY(updater.isFetching());
    const UpdateOutcome o = rig.fetched();
    QVERIFY2(o.kind == kind, qPrintable(describe(o)));
    QVERIFY2(o.message.contains(words), qPrintable(describe(o)));
    QVERIFY2(o.message.contains(QLatin1String("update 2 stays in force")), qPrintable(o.message));
    QCOMPARE(updater.sequence(), quint64(2));
    QVERIFY(rig.probeAccepted());
    QCOMPARE(readAll(rig.statePath()), state);
    if (stranger)
        VERIFY_NOTHING_RECEIVED(*stranger);
}

/// An update in force until its expiry, not after: the built-in policy comes
/// back at that instant while running, the expired update is not applied
/// again, nor an older one, and a restart starts on the built-in policy.
void Updater::expiryRestoresBuiltIn()
{
    const Fixture &f = fixture();
    // Signed now: it expires in 3 seconds.
    const QByteArray soon = fixture().tool.sign(
        QStringLiteral("trusted.pem"), 2,
        QDateTime::currentDateTimeUtc().addSecs(3).toString(QStringLiteral("yyyy-MM-ddTHH:mm:ssZ")), f.widerJson);
    Rig rig;
    rig.make(QUrl()).start();
    VERIFY_OUTCOME(rig.updater->offer(soon), Applied);
    QVERIFY(rig.probeAccepted());
    QTRY_VERIFY_WITH_TIMEOUT(rig.outcomes.last().kind == UpdateOutcome::BuiltIn, 10000);
    const UpdateOutcome expired = rig.outcomes.last();
    QCOMPARE(expired.result, PIN_ERR_UPDATE_EXPIRED);
    QVERIFY2(expired.message.contains(QLatin1String("update 2 expired")), qPrintable(expired.message));
    QVERIFY(QDateTime::currentDateTimeUtc() >= rig.outcomes.at(1).expires);
    QCOMPARE(rig.updater->sequence(), quint64(0));
    QCOMPARE(rig.updater->highestSequence(), quint64(2));
    QVERIFY(!rig.probeAccepted());

    UpdateOutcome o = rig.updater->offer(soon);
    VERIFY_OUTCOME(o, Refused);
    QCOMPARE(o.result, PIN_ERR_UPDATE_EXPIRED);
    o = rig.updater->offer(f.update1);
    VERIFY_OUTCOME(o, Refused);
    QCOMPARE(o.result, PIN_ERR_UPDATE_ROLLBACK);
    QVERIFY(!rig.probeAccepted());

    rig.make(QUrl()).start();
    VERIFY_OUTCOME(rig.outcomes.last(), BuiltIn);
    QCOMPARE(rig.outcomes.last().result, PIN_ERR_UPDATE_EXPIRED);
    QVERIFY(!rig.probeAccepted());
}

/// A stored update found expired at start: the built-in policy, saying why;
/// its sequence still bars older updates; a newer one is applied.
void Updater::expiredStoredUpdateAtStart()
{
    const Fixture &f = fixture();
    const QByteArray lapsed = fixture().tool.sign(QStringLiteral("trusted.pem"), 5, QStringLiteral("2020-06-01"),
                                                  f.widerJson, QStringLiteral("2020-01-01T00:00:00Z"));
    Rig rig;
    QVERIFY(writeAll(rig.statePath(), stateJson(QStringLiteral("5"), lapsed)));
    rig.make(QUrl()).start();
    const UpdateOutcome first = rig.outcomes.first();
    VERIFY_OUTCOME(first, BuiltIn);
    QCOMPARE(first.result, PIN_ERR_UPDATE_EXPIRED);
    QVERIFY2(first.message.contains(QLatin1String("stored update 5")), qPrintable(first.message));
    QCOMPARE(rig.updater->highestSequence(), quint64(5));
    QVERIFY(!rig.probeAccepted());

    const UpdateOutcome older = rig.updater->offer(f.update3);
    VERIFY_OUTCOME(older, Refused);
    QCOMPARE(older.result, PIN_ERR_UPDATE_ROLLBACK);
    const QByteArray update6 = fixture().tool.sign(
        QStringLiteral("trusted.pem"), 6, QDateTime::currentDateTimeUtc().addDays(7).date().toString(Qt::ISODate),
        f.widerJson);
    VERIFY_OUTCOME(rig.updater->offer(update6), Applied);
    QVERIFY(rig.probeAccepted());
}

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--offer-update") == 0)
        return offerUpdateChild(argc, argv);
    QCoreApplication app(argc, argv);
    Updater test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_updater.moc"
