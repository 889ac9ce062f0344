# The benchmark's load: wrk's Lua scripts (signed webhooks with distinct
# ids, visitors, Nchan channels) and one wrk run read back into numbers.
package Load;
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use Exporter 'import';
our @EXPORT_OK = qw(webhook_body hook_script write_hooks visitor_script
                    nchan_script wrk median);

# One WhatsApp delivery with one text message (CHANNELS.md, Meta Cloud API).
sub webhook_body {
    my ($id, $from) = @_;
    return '{"object":"whatsapp_business_account","entry":[{"id":"W",'
      . '"changes":[{"field":"messages","value":{"messaging_product":'
      . '"whatsapp","metadata":{"phone_number_id":"1055"},"messages":[{'
      . '"from":"' . $from . '","id":"wamid.' . $id . '","timestamp":'
      . '"1763780000","type":"text","text":{"body":'
      . '"Hello, where is my order?"}}]}}]}]}';
}

sub lua_string { (my $s = shift) =~ s/(["\\])/\\$1/g; return "\"$s\"" }

# Signed bodies for one round and one wrk thread, as a Lua file returning
# a table of {body, signature}. Every id is new: a repeated one would take
# the cheaper dedupe path and flatter the figure.
sub write_hooks {
    my ($path, $round, $thread, $count, $senders, $secret) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh "local h = {}\n";
    for my $i (1 .. $count) {
        # Lua caps the constants of one function: filled by chunks
        print $fh ";(function() local x = h\n" if $i % 10000 == 1;
        my $body = webhook_body("R${round}T${thread}N$i",
                                33600000 + ($i * 2 + $thread) % $senders);
        print $fh 'x[#x+1] = {', lua_string($body), ',"sha256=',
                  hmac_sha256_hex($body, $secret), "\"}\n";
        print $fh "end)()\n" if $i % 10000 == 0 || $i == $count;
    }
    print $fh "return h\n";
    close $fh;
}

# Each wrk thread loads its own file of bodies for the round given as the
# script's argument, and reports how many it sent (more than it has would
# have repeated ids).
sub hook_script {
    my ($path, $files, $location) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh <<"LUA";
local threads, count = {}, 0
function setup(thread)
  thread:set("id", count)
  table.insert(threads, thread)
  count = count + 1
end
function init(args)
  hooks = dofile("$files-" .. args[1] .. "-" .. id .. ".lua")
  sent = 0
end
function request()
  sent = sent + 1
  local h = hooks[(sent - 1) % #hooks + 1]
  return wrk.format("POST", "$location",
    { ["X-Hub-Signature-256"] = h[2], ["Content-Type"] = "application/json" },
    h[1])
end
function done()
  local most = 0
  for _, t in ipairs(threads) do
    most = math.max(most, t:get("sent"))
  end
  io.write("most bodies sent by one thread: " .. most .. "\\n")
end
LUA
    close $fh;
}

# Visitors' messages, cycling through their tokens.
sub visitor_script {
    my ($path, $body, @tokens) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh "local tokens = {\n", map({ "\"$_\",\n" } @tokens), "}\n";
    print $fh 'local i = 0
function request()
  i = i + 1
  return wrk.format("POST", "/visitor/messages",
    { ["Authorization"] = "Bearer " .. tokens[i % #tokens + 1],
      ["Content-Type"] = "application/json" }, ', lua_string($body), ')
end
';
    close $fh;
}

# Nchan publishers over many channels, each message the given body.
sub nchan_script {
    my ($path, $body, $channels) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh 'local i = 0
function request()
  i = i + 1
  return wrk.format("POST", "/nchan/pub/" .. (i % ', $channels, '), nil, ',
      lua_string($body), ')
end
';
    close $fh;
}

# One wrk run: {rps, p50, p99, non2xx, sent (most bodies per thread)}.
sub wrk {
    my (%o) = @_;
    my $cmd = "wrk -t2 -c$o{connections} -d$o{seconds}s --latency "
            . ($o{script} ? "-s $o{script} " : '')
            . "http://127.0.0.1:$o{port}$o{path}"
            . (defined $o{arg} ? " -- $o{arg}" : '') . ' 2>&1';
    my $out = `$cmd`;
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    ($r{p50}) = $out =~ /\s50%\s+([\d.]+\w+)/;
    ($r{p99}) = $out =~ /\s99%\s+([\d.]+\w+)/;
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    ($r{errors}) = $out =~ /Socket errors: (.*)/;
    ($r{sent}) = $out =~ /most bodies sent by one thread: (\d+)/;
    die "wrk gave no figure:\n$out" unless defined $r{rps};
    return \%r;
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v ? $v[$#v / 2] : 0;
}

1;
