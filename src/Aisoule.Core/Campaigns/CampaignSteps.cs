using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Campaigns;

/// <summary>A <c>campaignsteps</c> queue message: run the next step of one campaign.</summary>
public sealed record CampaignStep(
    [property: JsonPropertyName("w")] string WorkspaceId,
    [property: JsonPropertyName("c")] string CampaignId)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static CampaignStep? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<CampaignStep>(json) is { WorkspaceId.Length: > 0, CampaignId.Length: > 0 } step ? step : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The <c>campaignsteps</c> queue: the one place its messages are written.</summary>
public sealed class CampaignSteps(StorageAccount storage)
{
    public async Task EnqueueAsync(string workspaceId, string campaignId, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        var queue = await storage.GetQueueAsync(CampaignKeys.StepsQueue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(new CampaignStep(workspaceId, campaignId).ToJson(), visibilityTimeout: delay is { } d && d > TimeSpan.Zero ? d : null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
