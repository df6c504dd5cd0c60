namespace Aisoule.Tests.OpenApi;

/// <summary>TODO: the messages area's cases.</summary>
internal static partial class ContractCases
{
    private static Task SetUpMessagesAsync(ContractWorld world) => Task.CompletedTask;

    private static IEnumerable<ContractCase> Messages() => [];
}
