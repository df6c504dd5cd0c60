namespace Aisoule.Core.Campaigns;

/// <summary>Tables of campaigns (logical names; <see cref="Storage.StorageAccount"/> adds the prefix).</summary>
public static class CampaignNames
{
    /// <summary>Unique out-of-window recipients per business portfolio per rolling 24 hours (<see cref="ReachLedger"/>).</summary>
    public const string Reach = "reach";
}
