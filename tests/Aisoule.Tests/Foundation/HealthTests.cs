using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class HealthTests
{
    [Fact]
    public async Task Health_answers_ok_in_the_success_envelope_when_storage_answers()
    {
        await using var host = await TestHost.StartAsync();

        var data = await Envelope.SuccessAsync(await host.Client.GetAsync("health"));

        Assert.Equal("ok", data.GetProperty("status").GetString());
        Assert.Equal("ok", data.GetProperty("storage").GetString());
        Assert.Equal(2, data.EnumerateObject().Count());
    }

    [Fact]
    public async Task Health_answers_503_with_retry_after_when_storage_is_unreachable()
    {
        await using var host = await TestHost.StartAsync(connectionString: Azurite.Unreachable);

        var response = await host.Client.GetAsync("health");
        var body = await Envelope.ErrorAsync(response, HttpStatusCode.ServiceUnavailable, "storage_unavailable");

        Assert.Equal("unreachable", body.GetProperty("data").GetProperty("storage").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task Storage_outage_inside_a_function_answers_503_in_the_error_envelope()
    {
        await using var host = await TestHost.StartAsync(connectionString: Azurite.Unreachable);

        var response = await host.Client.GetAsync("probe/storage");

        await Envelope.ErrorAsync(response, HttpStatusCode.ServiceUnavailable, "storage_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task Table_is_created_on_first_use_under_the_hosts_prefix()
    {
        await using var host = await TestHost.StartAsync();

        var data = await Envelope.SuccessAsync(await host.Client.GetAsync("probe/storage"));

        Assert.Equal(host.Prefix + "probe", data.GetProperty("table").GetString());
    }
}
