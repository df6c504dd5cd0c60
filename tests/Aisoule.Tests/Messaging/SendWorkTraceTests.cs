using Aisoule.Core.Messaging.Dispatch;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>The <c>sends</c> queue message's optional traceparent, and messages written before it existed.</summary>
public sealed class SendWorkTraceTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public void A_queue_message_without_a_traceparent_still_parses_and_is_written_again_without_one()
    {
        var work = SendWork.Parse("""{"w":"ws_1","m":"msg_1","a":2}""");

        Assert.NotNull(work);
        Assert.Equal(("ws_1", "msg_1", 2), (work.WorkspaceId, work.MessageId, work.Attempt));
        Assert.Null(work.TraceParent);
        Assert.DoesNotContain("\"t\"", work.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_queue_message_carries_its_traceparent_through_json()
    {
        var json = new SendWork("ws_1", "msg_1", 0, TraceParent: TraceParent).ToJson();

        Assert.Contains($"\"t\":\"{TraceParent}\"", json, StringComparison.Ordinal);
        Assert.Equal(TraceParent, SendWork.Parse(json)!.TraceParent);
    }
}
