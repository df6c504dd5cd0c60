using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Probes;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class QueueTriggerTests
{
    [Fact]
    public async Task Enqueued_message_runs_its_queue_triggered_function_once_and_leaves_the_queue()
    {
        await using var host = await TestHost.StartAsync();
        var queue = await CreateQueueAsync(host, host.Prefix + "probe");

        await queue.SendMessageAsync($"{queue.Name}:hello");

        await Eventually(() => ProbeFunctions.Received.TryGetValue(queue.Name, out var got) && got.Contains($"{queue.Name}:hello"));
        await Eventually(async () => (await queue.PeekMessagesAsync()).Value.Length == 0 && (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);
        await Task.Delay(500);
        Assert.Single(ProbeFunctions.Received[queue.Name]);
    }

    [Fact]
    public async Task Message_that_keeps_failing_moves_to_the_poison_queue_after_max_dequeue_count()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"] = "2",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
        });
        var queue = await CreateQueueAsync(host, host.Prefix + "probe");
        var poison = host.Services.GetRequiredService<QueueServiceClient>().GetQueueClient(queue.Name + "-poison");

        await queue.SendMessageAsync($"{queue.Name}:fail");

        await Eventually(async () => await poison.ExistsAsync() && (await poison.PeekMessagesAsync()).Value.Length == 1);
        var poisoned = (await poison.PeekMessagesAsync()).Value.Single();
        Assert.Equal($"{queue.Name}:fail", poisoned.Body.ToString());
        Assert.Equal(2, ProbeFunctions.Received[queue.Name].Count);
        Assert.Empty((await queue.PeekMessagesAsync()).Value);
    }

    [Fact]
    public async Task A_queue_function_disabled_by_app_setting_leaves_its_messages_on_the_queue()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["AzureWebJobs.ProbeQueue.Disabled"] = "true",
        });
        var queue = await CreateQueueAsync(host, host.Prefix + "probe");

        await queue.SendMessageAsync($"{queue.Name}:hello");
        await Task.Delay(1500);

        Assert.False(ProbeFunctions.Received.ContainsKey(queue.Name));
        Assert.Single((await queue.PeekMessagesAsync()).Value);
    }

    private static async Task<QueueClient> CreateQueueAsync(TestHost host, string name)
    {
        var queue = host.Services.GetRequiredService<QueueServiceClient>().GetQueueClient(name);
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    private static Task Eventually(Func<bool> condition) => Eventually(() => Task.FromResult(condition()));

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 20 s");
            await Task.Delay(50);
        }
    }
}
