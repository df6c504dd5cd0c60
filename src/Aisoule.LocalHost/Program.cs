using Aisoule.Functions.Hosting;
using Aisoule.LocalHost;

var app = LocalFunctionsHost.Build(args, [typeof(AisouleServiceCollectionExtensions).Assembly]);
await app.StartAsync().ConfigureAwait(false);
Banner.Print(app, await DevelopmentOwner.EnsureAsync(app).ConfigureAwait(false));
await app.WaitForShutdownAsync().ConfigureAwait(false);
