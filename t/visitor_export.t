# Issue 20, item 2: a visitor's data as one JSON document (GDPR art. 15,
# 20). GET /admin/visitors/{channel}/{visitor}/export answers every
# conversation of theirs on the channel, open or ended, with its whole
# thread, and their block; an unknown visitor is 404, a bad channel or id
# is refused. A store written before the visitors' index gets it when
# nginx opens it (the export then finds the old conversations too).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new->start;
$t->add_agent('ann', capacity => { chat => 5 });
$t->available('ann');

my $c1 = $t->say_visitor('v1', 'chat', 'first visit')->{json}{conversation};
$t->post("/agent/conversations/$c1/messages", $t->agent('ann'),
         { text => 'hello v1' });
is($t->post("/agent/conversations/$c1/end", $t->agent('ann'), {})->{status},
   200, 'c1 ended');
my $c2 = $t->say_visitor('v1', 'chat', 'second visit')->{json}{conversation};
isnt($c2, $c1, 'v1 writes again: a second conversation');
$t->say_visitor('v1', 'chat', 'still there?');
my $o1 = $t->say_visitor('v9', 'chat', 'someone else')->{json}{conversation};
$t->say_visitor('v1', 'mobile', 'from the app');    # another channel

my $r = $t->get('/admin/visitors/chat/v1/export', $t->admin);
is($r->{status}, 200, 'export of v1 on chat: 200');
my $doc = $r->{json};
is($doc->{channel}, 'chat', '... the channel');
is($doc->{visitor}, 'v1', '... the visitor');
ok($doc->{exported_at}, '... when');
is($doc->{block}, undef, '... not blocked');
is_deeply([ map { $_->{id} } @{ $doc->{conversations} } ], [ $c1, $c2 ],
          '... both conversations of v1 on chat, oldest first, no other');
my %texts = map { $_->{id} => [ map { $_->{kind} eq 'system' ? () : $_->{text} }
                                @{ $_->{thread} } ] } @{ $doc->{conversations} };
is_deeply($texts{$c1}, [ 'first visit', 'hello v1' ],
          '... c1 whole: the visitor\'s and the agent\'s messages');
is_deeply($texts{$c2}, [ 'second visit', 'still there?' ], '... c2 whole');
is($doc->{conversations}[0]{state}, 'ended', '... c1 ended');
is($doc->{conversations}[1]{thread_length}, 3,
   '... c2 with its whole thread (2 messages and the assignment)');

# a thread longer than a page is exported whole
$t->say_visitor('v1', 'chat', "line $_") for 1 .. 60;
$doc = $t->get('/admin/visitors/chat/v1/export', $t->admin)->{json};
is(scalar @{ $doc->{conversations}[1]{thread} }, 63,
   'a thread of 63 entries is exported whole (a read pages at 50)');

# a blocked visitor's block is part of it
is($t->post("/agent/conversations/$o1/block", $t->agent('ann'), {})->{status},
   200, 'v9 is blocked');
$doc = $t->get('/admin/visitors/chat/v9/export', $t->admin)->{json};
is($doc->{block}{by}, 'ann', 'the export of v9 has its block');
is($doc->{conversations}[0]{id}, $o1, '... and its conversation');

# refusals
$r = $t->get('/admin/visitors/chat/nobody/export', $t->admin);
is($r->{status}, 404, 'an unknown visitor: 404');
is($r->{json}{error}{code}, 'unknown_visitor', '... unknown_visitor');
is($t->get('/admin/visitors/mobile/v9/export', $t->admin)->{status}, 404,
   'v9 on another channel: 404');
$r = $t->get('/admin/visitors/fax/v1/export', $t->admin);
is($r->{json}{error}{code}, 'unknown_channel', 'an unknown channel: 404');
$r = $t->get('/admin/visitors/chat/' . ('x' x 256) . '/export', $t->admin);
is($r->{json}{error}{code}, 'bad_id', 'an id too long: 400 bad_id');
$r = $t->get('/admin/visitors/chat/v%3Cscript%3E/export', $t->admin);
is($r->{json}{error}{code}, 'bad_id', 'a hostile id: 400 bad_id');
is($t->get('/admin/visitors/chat/v1/export', $t->agent('ann'))->{status},
   403, 'an agent may not export');
is($t->get('/admin/visitors/chat/v1/export')->{status}, 401,
   'nor anyone without a token');

# --- a store from before the index ------------------------------------------
my $dump = $t->dump_store;
like($dump, qr/^database=visit$/m, 'the store has the visitors\' index');
$t->stop;
# the same rows without the index and its mark, as an older version left them
my @sections = split /(?=^VERSION=)/m, $dump;
my $old = join '', map {
    my $s = $_;
    $s =~ s/^ 00766973697473\n [^\n]*\n//m if $s =~ /^database=meta$/m;
    $s =~ s/(HEADER=END\n).*?(DATA=END)/$1$2/s if $s =~ /^database=visit$/m;
    $s } @sections;
unlike($old, qr/^ 00766973697473\n/m, 'the old dump has no mark');
my $dir = "$t->{prefix}/store";
system("rm -rf '$dir' && mkdir -p '$dir'") == 0 or die;
open my $fh, '|-', "mdb_load -f /dev/stdin '$dir'" or die;
print $fh $old;
close $fh;
is($?, 0, 'the old store is loaded');
$t->start;
like($t->error_log, qr/\d+ conversations indexed by visitor/,
     'nginx indexes it when it opens it, and says so');
$doc = $t->get('/admin/visitors/chat/v1/export', $t->admin)->{json};
is_deeply([ map { $_->{id} } @{ $doc->{conversations} } ], [ $c1, $c2 ],
          'the export finds the old conversations');
$t->reload;
unlike($t->error_log =~ s/.*indexed by visitor//sr, qr/indexed by visitor/,
       'indexed once: a reload does not again');

done_testing;
