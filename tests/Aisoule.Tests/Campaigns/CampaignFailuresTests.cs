using Aisoule.Core.Campaigns;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>Each error code a failed message stores falls into one failure category of a campaign.</summary>
public sealed class CampaignFailuresTests
{
    [Theory]
    [InlineData("130429")]
    [InlineData("4")]
    [InlineData("80007")]
    [InlineData("131057")]
    [InlineData("131000")]
    [InlineData("131016")]
    [InlineData("190")]
    [InlineData("131031")]
    [InlineData("368")]
    [InlineData("timeout")]
    [InlineData("http_500")]
    [InlineData("http_429")]
    [InlineData("dispatch_failed")]
    [InlineData("account_disconnected")]
    [InlineData("delivery_unknown")]
    [InlineData("campaign_cancelled")]
    [InlineData("999999")]
    [InlineData("something_new")]
    [InlineData("")]
    [InlineData(null)]
    public void Throughput_metas_trouble_ours_the_account_and_unknown_codes_are_retryable(string? code)
    {
        Assert.Equal(CampaignFailures.Retryable, CampaignFailures.Categorize(code));
    }

    [Theory]
    [InlineData("132000")]
    [InlineData("132001")]
    [InlineData("132005")]
    [InlineData("132007")]
    [InlineData("132012")]
    [InlineData("132015")]
    [InlineData("132016")]
    [InlineData("131051")]
    [InlineData("100")]
    [InlineData("131008")]
    [InlineData("131009")]
    public void Template_and_parameter_errors_need_a_template_fix(string code)
    {
        Assert.Equal(CampaignFailures.TemplateFix, CampaignFailures.Categorize(code));
    }

    [Theory]
    [InlineData("131026")]
    [InlineData("131062")]
    [InlineData("131030")]
    [InlineData("131045")]
    [InlineData("131047")]
    public void Recipients_who_cannot_take_the_message_are_invalid(string code)
    {
        Assert.Equal(CampaignFailures.RecipientInvalid, CampaignFailures.Categorize(code));
    }

    [Fact]
    public void A_user_who_stopped_marketing_messages_is_opted_out()
    {
        Assert.Equal(CampaignFailures.OptedOut, CampaignFailures.Categorize("131050"));
    }

    [Theory]
    [InlineData("131049")]
    [InlineData("131048")]
    [InlineData("131056")]
    [InlineData("131063")]
    public void Metas_limits_on_the_business_or_the_user_are_limits(string code)
    {
        Assert.Equal(CampaignFailures.Limit, CampaignFailures.Categorize(code));
    }

    [Fact]
    public void The_categories_are_the_five_the_api_names_and_every_answer_is_one_of_them()
    {
        Assert.Equal(["retryable", "template_fix", "recipient_invalid", "opted_out", "limit"], CampaignFailures.All);
        Assert.All(new[] { "131050", "100", "131047", "131056", "x" }, code => Assert.True(CampaignFailures.IsCategory(CampaignFailures.Categorize(code))));
        Assert.False(CampaignFailures.IsCategory("failed"));
    }
}
