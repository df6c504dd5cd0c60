using Aisoule.Core.WhatsApp;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Meta's code decides what an error does to a message, whatever HTTP status carried it.</summary>
public sealed class MetaErrorsTests
{
    [Theory]
    [InlineData(131062, 400)]
    [InlineData(131062, 500)]
    [InlineData(131062, 0)]
    [InlineData(131063, 400)]
    [InlineData(131063, 503)]
    public void Bsuid_and_marketing_disabled_refusals_are_permanent_whatever_the_http_status(int code, int httpStatus)
    {
        Assert.Equal(ErrorDisposition.Permanent, MetaErrors.Classify(new ProviderError(code, "refused", httpStatus, null)));
    }
}
