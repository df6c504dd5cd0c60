using Aisoule.Functions.Catalog;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Aisoule.Functions.Pipeline;

/// <summary>Runs <see cref="ApiPipeline"/> inside the Functions worker for HTTP-triggered functions.</summary>
internal sealed class ApiPipelineMiddleware(ApiPipeline pipeline, FunctionCatalog catalog) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is not { } http)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var result = await pipeline.RunAsync(http, catalog.Get(context.FunctionDefinition.Name), async () =>
        {
            await next(context).ConfigureAwait(false);
            return context.GetInvocationResult().Value;
        }, context.CancellationToken).ConfigureAwait(false);
        context.GetInvocationResult().Value = result;
    }
}
