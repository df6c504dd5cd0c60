namespace Aisoule.Tests.OpenApi;

/// <summary>TODO: the webhooks area's cases.</summary>
internal static partial class ContractCases
{
    private static Task SetUpWebhooksAsync(ContractWorld world) => Task.CompletedTask;

    private static IEnumerable<ContractCase> Webhooks() => [];
}
