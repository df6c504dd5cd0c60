using Aisoule.Functions.Hosting;
using Aisoule.LocalHost;

var app = LocalFunctionsHost.Build(args, [typeof(AisouleServiceCollectionExtensions).Assembly]);
app.Lifetime.ApplicationStarted.Register(() => Banner.Print(app));
await app.RunAsync().ConfigureAwait(false);
