namespace Aisoule.Tests.OpenApi;

/// <summary>TODO: the campaigns area's cases.</summary>
internal static partial class ContractCases
{
    private static Task SetUpCampaignsAsync(ContractWorld world) => Task.CompletedTask;

    private static IEnumerable<ContractCase> Campaigns() => [];
}
