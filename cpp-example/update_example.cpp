// certpin-update-example: a Qt console program that keeps its pinning
// policy current with certpin::PolicyUpdater. It starts on the state file
// (or on its built-in policy), then applies the update files it is given, in
// order, as if each had been fetched, and prints each outcome as the
// updater's callback hears it.
//
//     certpin-update-example --policy BUILT-IN.json --trusted-key ed25519/...
//                            --state STATE.json [--url URL] [UPDATE.json ...]
//
// With --url it also fetches the update there once (through a manager the
// policy in force pins) and waits for the outcome. Exit status 0; 64 for bad usage.
#include <certpin_qt_updater.hpp>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QTimer>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Applies signed certpin policy updates."));
    parser.addHelpOption();
    const QCommandLineOption policyOption(QStringLiteral("policy"), QStringLiteral("The built-in policy."),
                                          QStringLiteral("FILE"));
    const QCommandLineOption keyOption(QStringLiteral("trusted-key"), QStringLiteral("A trusted key (repeatable)."),
                                       QStringLiteral("KEY"));
    const QCommandLineOption stateOption(QStringLiteral("state"), QStringLiteral("The state file."),
                                         QStringLiteral("FILE"));
    const QCommandLineOption urlOption(QStringLiteral("url"), QStringLiteral("Fetch the update here once."),
                                       QStringLiteral("URL"));
    parser.addOptions({policyOption, keyOption, stateOption, urlOption});
    parser.addPositionalArgument(QStringLiteral("updates"), QStringLiteral("Update files, applied in order."));
    parser.process(app);
    if (!parser.isSet(policyOption) || !parser.isSet(keyOption) || !parser.isSet(stateOption)) {
        std::fprintf(stderr, "%s", qPrintable(parser.helpText()));
        return 64;
    }
    QString error;
    const certpin::Policy builtIn = certpin::Policy::fromFile(parser.value(policyOption), &error);
    if (!builtIn.isValid()) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 64;
    }

    certpin::PolicyUpdater updater(builtIn, parser.values(keyOption), QUrl(parser.value(urlOption)));
    updater.setStatePath(parser.value(stateOption));
    updater.setTimeout(5000);
    updater.setOutcomeHandler([](const certpin::UpdateOutcome &o) {
        std::printf("updater: %s: %s\n", qPrintable(o.kindName()), qPrintable(o.message));
        std::fflush(stdout);
    });
    updater.start();
    for (const QString &path : parser.positionalArguments()) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(path), qPrintable(file.errorString()));
            continue;
        }
        updater.offer(file.read(updater.maximumSize() + 1), path);
    }
    if (!updater.isFetching())
        return 0;
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, &app, [&updater] {
        if (!updater.isFetching())
            QCoreApplication::quit();
    });
    poll.start(20);
    return app.exec();
}
