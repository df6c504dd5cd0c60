using Aisoule.Core.Hosting;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Aisoule.Functions.Hosting;

/// <summary>The one composition root, used by the Functions worker and the local host alike.</summary>
public static class AisouleServiceCollectionExtensions
{
    public static IServiceCollection AddAisoule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAisouleCore(configuration);
        services.TryAddSingleton(_ => FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly));
        services.AddSingleton<AccessGate>();
        services.AddSingleton<ApiPipeline>();
        return services;
    }
}
